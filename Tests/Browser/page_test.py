#!/usr/bin/env python3
"""The page of `zeroshot serve` (GET /) in headless Chromium, against a running server.

Loads the page, uploads an image through the file input, types candidate labels, submits, and checks that the ranked
labels in the DOM are the server's own JSON answer to the same multipart request: the same labels in the same order,
each score as shown (percent, two decimals) and as kept in `data-score` (exact), and the server's warnings
(Zeroshot-Warning headers) shown when it gives any. A file that is not an image must show the server's JSON error
message. Without --db the search section must stay hidden; with --db a text search must show the server's own
/v1/search answer (paths, order, scores) with a thumbnail loaded for every hit, and so must a search by image alone
with --search-image. The page must load nothing from anywhere but the server and log no browser errors. A screenshot
of the final page is saved either way.

Needs selenium (pip), Debian's /usr/bin/chromium and /usr/bin/chromedriver; no network (Selenium Manager is never
asked for a driver). Exit status 0 when every check passes, 1 with the failed checks on standard error.

    python page_test.py --url http://127.0.0.1:8080 --image cat.jpg --labels "cat, dog, car" \
        --not-an-image notes.txt --screenshot page.png [--warning-template "a photo"] [--db --query "a cat"] \
        [--api-key KEY]
"""

import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not download anything.

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def http(url, body=None, headers=None, method=None, with_headers=False):
    """(status, parsed JSON body or raw bytes[, response headers]) of one request; HTTP errors are answers."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, data, fields = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, data, fields = error.code, error.read(), error.headers
    parsed = json.loads(data) if fields.get("Content-Type", "").startswith("application/json") else data
    return (status, parsed, fields) if with_headers else (status, parsed)


def multipart(fields, file_field, file_name, file_bytes):
    """A multipart/form-data body as the page's FormData sends it: the file part, then the text fields."""
    boundary = "----zeroshot-page-test-" + uuid.uuid4().hex
    out = bytearray()
    out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"{file_name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    out += file_bytes + b"\r\n"
    for name, value in fields:
        out += f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n".encode()
        out += value.encode() + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def auth(api_key):
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def classify_by_server(args, path, template):
    with open(path, "rb") as f:
        data = f.read()
    fields = [("candidate_labels", args.labels), ("hypothesis_template", template)]
    body, ctype = multipart(fields, "image", os.path.basename(path), data)
    return http(args.url + "/v1/zero-shot-image-classification", body,
                {"Content-Type": ctype, "Accept": "application/json", **auth(args.api_key)}, "POST", with_headers=True)


def start_browser(args):
    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1100,1000", "--no-first-run", "--no-default-browser-check",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--disable-extensions", "--metrics-recording-only",
                 # No network: every host name but the server's loopback address fails to resolve.
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=args.chromedriver), options=options)


def shown_percent(text):
    check(text.endswith("%"), f"a score is shown as {text!r}, not as a percentage")
    return float(text[:-1])


def search_in_page(driver, args, body, log):
    """Submits the page's search form (filled in already) and checks the hits shown against the server's own answer
    to `body`: paths, order, scores, and a thumbnail loaded for each image; a video frame shows its time (3
    decimals) and no thumbnail."""
    error = submit_and_wait(driver, args.timeout, "search-submit", "search-results", "search-error")
    status, hits = http(args.url + "/v1/search", json.dumps(body).encode(),
                        {"Content-Type": "application/json", **auth(args.api_key)}, "POST")
    check(status == 200, f"the server answered the same search with {status}: {hits}")
    check(error == "", f"the page shows a search error: {error!r}")
    check(len(hits) > 0, "the server found nothing: the index is empty")
    items = driver.find_elements(By.CSS_SELECTOR, "#search-results li")
    paths = [li.find_element(By.CSS_SELECTOR, ".path").text for li in items]
    check(paths == [h["path"] for h in hits], f"paths in the page {paths} != the server's {[h['path'] for h in hits]}")
    for li, hit in zip(items, hits):
        check(float(li.get_attribute("data-score")) == hit["score"], f"{hit['path']}: score differs")
        shown = li.find_element(By.CSS_SELECTOR, ".score").text
        check(abs(float(shown) - hit["score"]) <= 0.00005 + 1e-12, f"{hit['path']}: shown {shown}, score {hit['score']!r}")
        times = li.find_elements(By.CSS_SELECTOR, ".time")
        if "time" in hit:
            expected = f"at {hit['time']:.3f} s"
            check([t.text for t in times] == [expected], f"{hit['path']}: the frame's time shown {[t.text for t in times]}, "
                  f"not [{expected!r}]")
            check(li.get_attribute("data-thumb") == "video", f"{hit['path']}: a video frame asks for a thumbnail")
        else:
            check(not times, f"{hit['path']}: a still image shows a time")
    WebDriverWait(driver, args.timeout).until(lambda d: all(
        li.get_attribute("data-thumb") for li in d.find_elements(By.CSS_SELECTOR, "#search-results li")))
    failed = [li.find_element(By.CSS_SELECTOR, ".path").text for li, hit in zip(items, hits)
              if "time" not in hit and (li.get_attribute("data-thumb") != "loaded"
              or not driver.execute_script("return arguments[0].naturalWidth > 0",
                                           li.find_element(By.CSS_SELECTOR, ".thumb")))]
    check(not failed, f"thumbnails not shown for {failed}")
    frames = sum(1 for hit in hits if "time" in hit)
    log(f"search {sorted(k for k in body if k != 'top_k')}: {len(hits)} hits ({frames} video frames), "
        f"first {hits[0]['path']} {hits[0]['score']}")


def check_ranking(driver, expected):
    items = driver.find_elements(By.CSS_SELECTOR, "#results li")
    shown = [(li.find_element(By.CSS_SELECTOR, ".label").text,
              li.find_element(By.CSS_SELECTOR, ".score").text,
              li.get_attribute("data-score")) for li in items]
    check([s[0] for s in shown] == [e["label"] for e in expected],
          f"ranked labels in the page {[s[0] for s in shown]} != the server's {[e['label'] for e in expected]}")
    for (label, text, exact), entry in zip(shown, expected):
        percent = shown_percent(text)
        # Two decimals of a percentage: within half a unit of the last place (plus float slack) of score x 100.
        check(abs(percent - entry["score"] * 100) <= 0.005 + 1e-9,
              f"{label}: shown {text}, the server's score is {entry['score']!r}")
        check(float(exact) == entry["score"], f"{label}: data-score {exact} != the server's {entry['score']!r}")
    widths = driver.execute_script(
        "return [...document.querySelectorAll('#results li .bar > span')].map(e => e.getBoundingClientRect().width)")
    check(widths == sorted(widths, reverse=True), f"bars are not in decreasing length: {widths}")
    return shown


def submit_and_wait(driver, timeout, button_id, list_id, error_id):
    """Clicks the submit button and waits for the answer: the list is `aria-busy` from the click (the handler sets
    it before its first await) until results or an error are shown. Returns the error text ('' for results)."""
    driver.find_element(By.ID, button_id).click()
    WebDriverWait(driver, timeout).until(lambda d: d.find_element(By.ID, list_id).get_attribute("aria-busy") is None
                                         and not d.find_element(By.ID, button_id).get_attribute("disabled"))
    return driver.find_element(By.ID, error_id).text


def classify_in_page(driver, args, template, log):
    """Types `template`, submits the page's form (image and labels already there), and checks the ranking and the
    warnings shown against the server's own answer to the same request."""
    field = driver.find_element(By.ID, "template")
    field.clear()
    field.send_keys(template)
    error = submit_and_wait(driver, args.timeout, "classify-submit", "results", "classify-error")
    status, expected, fields = classify_by_server(args, args.image, template)
    check(status == 200, f"the server answered the same request with {status}: {expected}")
    check(error == "", f"the page shows an error: {error!r}")
    shown = check_ranking(driver, expected)
    log(f"ranked ({template!r}): " + ", ".join(f"{label} {text}" for label, text, _ in shown))
    # The server's warnings (Zeroshot-Warning headers) are shown, and none when there are none.
    warnings = fields.get_all("Zeroshot-Warning") or []
    shown_warning = driver.find_element(By.ID, "classify-warning").text
    check(all(w in shown_warning for w in warnings) and bool(shown_warning) == bool(warnings),
          f"the page's warning {shown_warning!r}, the server's {warnings}")
    if warnings:
        log(f"warning shown: {shown_warning}")
    return warnings


def run(args, driver, log):
    status, info = http(args.url + "/v1/info", headers=auth(args.api_key))
    check(status == 200, f"GET /v1/info answered {status}: {info}")
    driver.get(args.url + "/")
    check(driver.title == "zeroshot", f"page title {driver.title!r}")
    if args.api_key:
        # Without the key the server's 401 is shown with a hint to the key field; with it typed, /v1/info loads;
        # after a reload the key is still there (localStorage).
        WebDriverWait(driver, args.timeout).until(lambda d: "401" in d.find_element(By.ID, "info").text)
        check("API key" in driver.find_element(By.ID, "info").text,
              f"the 401 does not point to the key field: {driver.find_element(By.ID, 'info').text!r}")
        key = driver.find_element(By.ID, "api-key")
        key.send_keys(args.api_key)
        driver.find_element(By.ID, "labels").click()  # leaves the key field: its change event loads /v1/info again
        WebDriverWait(driver, args.timeout).until(lambda d: info["model"] in d.find_element(By.ID, "info").text)
        driver.refresh()
        check(driver.find_element(By.ID, "api-key").get_attribute("value") == args.api_key,
              "the API key is not kept across a reload")
    WebDriverWait(driver, args.timeout).until(
        lambda d: d.find_element(By.ID, "info").text not in ("", "Connecting…"))
    info_text = driver.find_element(By.ID, "info").text
    check(info["model"] in info_text, f"the page's info line {info_text!r} does not name the model {info['model']!r}")
    log(f"info: {info_text}")

    # Classification: the file input, the labels, the template, submit.
    driver.find_element(By.ID, "image").send_keys(os.path.abspath(args.image))
    WebDriverWait(driver, args.timeout).until(lambda d: d.execute_script(
        "const p = document.getElementById('preview'); return !p.hidden && p.complete && p.naturalWidth > 0"))
    labels = driver.find_element(By.ID, "labels")
    labels.clear()
    labels.send_keys(args.labels)
    template = driver.find_element(By.ID, "template")
    check(template.get_attribute("value") == info["hypothesis_template"],
          f"template field {template.get_attribute('value')!r}, the server's default {info['hypothesis_template']!r}")
    classify_in_page(driver, args, args.template, log)
    if args.warning_template:
        check(classify_in_page(driver, args, args.warning_template, log),
              f"the server gave no warning for the template {args.warning_template!r}")

    # A file that is not an image: the server's JSON error message, and no stale results or warnings.
    if args.not_an_image:
        status, answer, _ = classify_by_server(args, args.not_an_image, args.template)
        check(400 <= status < 500 and isinstance(answer, dict) and "error" in answer,
              f"the server answered a non-image with {status}: {answer}")
        driver.find_element(By.ID, "image").send_keys(os.path.abspath(args.not_an_image))
        error = submit_and_wait(driver, args.timeout, "classify-submit", "results", "classify-error")
        check(answer["error"]["message"] in error and str(status) in error,
              f"the page shows {error!r} for the server's {status} {answer['error']['message']!r}")
        check(not driver.find_elements(By.CSS_SELECTOR, "#results li"), "results of the previous image are still shown")
        check(driver.find_element(By.ID, "classify-warning").text == "", "a warning of the previous answer is still shown")
        log(f"error shown: {error}")
        # Back to the image, so that the screenshot shows a ranking.
        driver.find_element(By.ID, "image").send_keys(os.path.abspath(args.image))
    if args.not_an_image or args.warning_template:
        classify_in_page(driver, args, args.template, log)

    # Search: shown only with an index.
    search = driver.find_element(By.ID, "search")
    check(search.is_displayed() == info["search"] == args.db,
          f"search section shown: {search.is_displayed()}, /v1/info search: {info['search']}, --db given: {args.db}")
    if args.db:
        query = driver.find_element(By.ID, "query")
        query.send_keys(args.query)
        top_k = int(driver.find_element(By.ID, "top-k").get_attribute("value"))
        search_in_page(driver, args, {"query": args.query, "top_k": top_k}, log)
        if args.search_image:
            # By image alone: the page sends the file as a data: URI; the server is asked with its base64.
            query.clear()
            driver.find_element(By.ID, "search-image").send_keys(os.path.abspath(args.search_image))
            with open(args.search_image, "rb") as f:
                image = base64.b64encode(f.read()).decode()
            search_in_page(driver, args, {"image": image, "top_k": top_k}, log)

    # Self-contained: every resource came from the server itself.
    resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    foreign = [r for r in resources if not r.startswith(args.url + "/")]
    check(not foreign, f"the page loaded resources from elsewhere: {foreign}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the server's base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--image", required=True, help="an image file to classify")
    parser.add_argument("--labels", required=True, help="candidate labels as typed (comma-separated)")
    parser.add_argument("--template", default="This is a photo of {}.", help="the hypothesis template typed")
    parser.add_argument("--warning-template", help="a template the server warns about (say without {}): the page must "
                        "show the warning")
    parser.add_argument("--not-an-image", help="a file that is not an image: the page must show the server's error")
    parser.add_argument("--db", action="store_true", help="the server has an index: search must be shown and work")
    parser.add_argument("--query", default="a photo of a cat", help="the search text (with --db)")
    parser.add_argument("--search-image", help="with --db, then search by this image alone")
    parser.add_argument("--api-key", help="the server's --api-key, typed into the page's key field")
    parser.add_argument("--screenshot", required=True, help="where to save a PNG of the page at the end")
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for each answer")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = parser.parse_args()
    args.url = args.url.rstrip("/")

    def log(message):
        print(f"page_test: {message}", flush=True)

    started = time.monotonic()
    driver = start_browser(args)
    failure = None
    try:
        run(args, driver, log)
        # Chromium logs every 4xx answer as an error: those the test asks for are expected.
        expected = []
        if args.not_an_image:
            expected.append("/v1/zero-shot-image-classification - Failed to load resource: the server responded with a status of 4")
        if args.api_key:
            expected.append("/v1/info - Failed to load resource: the server responded with a status of 401")
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"
                  and not any(text in e.get("message", "") for text in expected)]
        check(not errors, f"browser console errors: {errors}")
    except CheckFailed as error:
        failure = str(error)
    except Exception as error:  # a timeout or a missing element: the page is not as expected
        failure = f"{type(error).__name__}: {error}".strip()
    finally:
        try:
            os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)), exist_ok=True)
            # The whole page: the window grows to the document's height (twice: text may wrap anew), at most 4000 px.
            for _ in range(2):
                height = driver.execute_script("window.scrollTo(0, 0); return document.documentElement.scrollHeight")
                driver.set_window_size(1100, max(1000, min(int(height) + 200, 4000)))
            driver.save_screenshot(args.screenshot)
            log(f"screenshot: {args.screenshot}")
        finally:
            driver.quit()
    if failure:
        print(f"page_test: FAILED: {failure}", file=sys.stderr)
        return 1
    log(f"passed in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
