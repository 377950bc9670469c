import Foundation
import ZeroShot

/// One call waiting for or running on the engine: what it asks (`payload`) and the caller to resume.
///
/// Every field but `payload` and `enqueued` is guarded by the engine's lock (`EngineQueue.condition`). The caller
/// holds a queue slot exactly while `continuation` is set; whoever takes it (the engine with the result, or the
/// cancellation handler) frees the slot and resumes the caller, once.
final class EngineJob<Payload, Output: Sendable>: @unchecked Sendable {
    enum State { case new, queued, running, done }

    let payload: Payload
    /// When the call was queued (the batch wait of an image is counted from here).
    let enqueued: ContinuousClock.Instant
    var state = State.new
    var cancelled = false
    /// Whether the call took a queue slot of its own (not when its request holds one: `EngineQueue.admit`).
    var holdsSlot = false
    var continuation: CheckedContinuation<Output, Error>?

    init(_ payload: Payload) {
        self.payload = payload
        self.enqueued = ContinuousClock.now
    }
}

/// The queues of `InferenceEngine` and the engine thread that works them.
///
/// - Image jobs are run in batches of up to `maxBatch`, on the engine thread: a batch starts when it is full, or
///   `maxBatchWait` after its oldest image was queued, whichever comes first (at once for images that waited while
///   the previous batch ran).
/// - Text jobs run on the same thread: every text job queued when a batch ends runs before the next batch.
/// - Prepare jobs (decoding) run on Dispatch worker threads, at most `prepareLimit` at a time, never on the engine
///   thread.
/// - Every call waiting or running holds a slot of `maxQueue` (`depth`), unless it is made within `admit`, whose
///   request holds one slot for all its calls; a call or request past them is refused with 503.
final class EngineQueue: @unchecked Sendable {
    typealias ImageJob = EngineJob<[Float], (embedding: [Float], batchSize: Int)>
    typealias TextJob = EngineJob<@Sendable () throws -> [[Float]], [[Float]]>
    typealias PrepareJob = EngineJob<@Sendable () throws -> InferenceEngine.PreparedImage, InferenceEngine.PreparedImage>

    let maxBatch: Int
    let maxBatchWait: Duration
    let maxQueue: Int
    let prepareLimit: Int
    let observer: InferenceEngine.Observer
    /// Runs the image tower over `count` images' pixel_values `[count, 3, S, S]`: `[count][D]` embeddings.
    let embed: @Sendable (_ pixelValues: [Float], _ count: Int) throws -> [[Float]]
    /// Test hook: told "text" or "image:N" as the engine thread starts a text job or a batch of N images.
    let trace: (@Sendable (String) -> Void)?

    /// Guards everything below; the engine thread waits on it for work.
    let condition = NSCondition()
    private var depth = 0
    private var images: [ImageJob] = []
    private var texts: [TextJob] = []
    private var preparing = 0
    private var prepareWaiting: [PrepareJob] = []
    private var closing = false
    private var finished = false
    private var finishWaiters: [CheckedContinuation<Void, Never>] = []

    init(maxBatch: Int, maxBatchWait: Duration, maxQueue: Int, prepareLimit: Int, observer: InferenceEngine.Observer,
         embed: @escaping @Sendable ([Float], Int) throws -> [[Float]], trace: (@Sendable (String) -> Void)?) {
        self.maxBatch = max(1, maxBatch)
        self.maxBatchWait = max(.zero, maxBatchWait)
        self.maxQueue = max(1, maxQueue)
        self.prepareLimit = max(1, prepareLimit)
        self.observer = observer
        self.embed = embed
        self.trace = trace
    }

    /// Starts the engine thread (a `Thread`, not a Swift-concurrency thread: the model blocks it for the whole batch).
    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "zeroshot-engine"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Calls waiting or running now.
    var queueDepth: Int {
        condition.lock()
        defer { condition.unlock() }
        return depth
    }

    /// Whether `shutdown()` or `close()` was called (new calls are refused).
    var isClosing: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closing
    }

    // MARK: - Calls

    /// The queue whose `admit` the current task runs in (its calls take no slot of their own).
    @TaskLocal static var admittedBy: ObjectIdentifier?

    /// Runs `body` as one request holding one queue slot throughout (refused with 503 when none is free, or when the
    /// queue shuts down); the calls it makes, in its task and child tasks, take no slot of their own.
    func admit<T>(_ body: () async throws -> T) async throws -> T {
        if Self.admittedBy == ObjectIdentifier(self) { return try await body() }
        try takeRequestSlot()
        defer { freeRequestSlot() }
        return try await Self.$admittedBy.withValue(ObjectIdentifier(self)) { try await body() }
    }

    private func takeRequestSlot() throws {
        condition.lock()
        defer { condition.unlock() }
        if let refusal = refusalReason() { throw refusal }
        depth += 1
        observer.queueDepth(depth)
    }

    private func freeRequestSlot() {
        condition.lock()
        releaseSlot()
        condition.unlock()
    }

    /// Why a new request or call cannot be taken now (under the lock), or nil.
    private func refusalReason() -> Error? {
        if closing { return ServerError.unavailable("the server is shutting down; retry on another instance") }
        if depth >= maxQueue {
            return ServerError.unavailable("the inference queue is full (\(maxQueue) requests waiting or running, "
                                           + "--max-queue); retry later")
        }
        return nil
    }

    /// Frees a slot (under the lock).
    private func releaseSlot() {
        depth -= 1
        observer.queueDepth(depth)
        if closing && depth == 0 { condition.broadcast() }
    }

    func submitImage(_ pixelValues: [Float]) async throws -> (embedding: [Float], batchSize: Int) {
        try await submit(ImageJob(pixelValues), enqueue: { [self] job in
            images.append(job)
            condition.broadcast()
        }, dequeue: { [self] job in images.removeAll { $0 === job } })
    }

    func submitText(_ work: @escaping @Sendable () throws -> [[Float]]) async throws -> [[Float]] {
        try await submit(TextJob(work), enqueue: { [self] job in
            texts.append(job)
            condition.broadcast()
        }, dequeue: { [self] job in texts.removeAll { $0 === job } })
    }

    func submitPrepare(_ work: @escaping @Sendable () throws -> InferenceEngine.PreparedImage) async throws
        -> InferenceEngine.PreparedImage {
        try await submit(PrepareJob(work), enqueue: { [self] job in
            if preparing < prepareLimit {
                startPrepare(job)
            } else {
                prepareWaiting.append(job)
            }
        }, dequeue: { [self] job in prepareWaiting.removeAll { $0 === job } })
    }

    /// Admits `job` (or throws: cancelled, queue full, shutting down), queues it with `enqueue` (under the lock) and
    /// waits for its result. Cancelling the calling task resumes it at once with `CancellationError`, frees its
    /// slot, and takes a job that has not started off its queue (`dequeue`, under the lock): it never runs.
    private func submit<Payload, Output>(_ job: EngineJob<Payload, Output>,
                                         enqueue: @escaping @Sendable (EngineJob<Payload, Output>) -> Void,
                                         dequeue: @escaping @Sendable (EngineJob<Payload, Output>) -> Void) async throws -> Output {
        let admitted = Self.admittedBy == ObjectIdentifier(self)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Output, Error>) in
                condition.lock()
                let refusal: Error?
                if job.cancelled {
                    refusal = CancellationError()
                } else if admitted {
                    // The request holds a slot (`admit`), so shutdown waits for it: never refused.
                    refusal = nil
                } else {
                    refusal = refusalReason()
                }
                if refusal == nil {
                    if !admitted {
                        depth += 1
                        observer.queueDepth(depth)
                        job.holdsSlot = true
                    }
                    job.continuation = continuation
                    job.state = .queued
                    enqueue(job)
                }
                condition.unlock()
                if let refusal { continuation.resume(throwing: refusal) }
            }
        } onCancel: {
            condition.lock()
            job.cancelled = true
            if job.state == .queued {
                dequeue(job)
                job.state = .done
            }
            let continuation = takeContinuation(job)
            condition.unlock()
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// The caller of `job` if it still waits, its slot freed (under the lock).
    private func takeContinuation<Payload, Output>(_ job: EngineJob<Payload, Output>) -> CheckedContinuation<Output, Error>? {
        guard let continuation = job.continuation else { return nil }
        job.continuation = nil
        if job.holdsSlot { releaseSlot() }
        return continuation
    }

    /// Ends `job` with `result`: resumes its caller unless it left (cancelled).
    private func complete<Payload, Output>(_ job: EngineJob<Payload, Output>, _ result: Result<Output, Error>) {
        condition.lock()
        job.state = .done
        let continuation = takeContinuation(job)
        condition.unlock()
        continuation?.resume(with: result)
    }

    // MARK: - Prepare workers

    /// Runs a prepare job on a worker thread (under the lock; counts it in `preparing`).
    private func startPrepare(_ job: PrepareJob) {
        preparing += 1
        job.state = .running
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            // The compute layer leaves a core to a thread that decodes while a model runs.
            let result = Result { try ComputeThreads.asHelper(job.payload) }
            condition.lock()
            preparing -= 1
            while preparing < prepareLimit, !prepareWaiting.isEmpty {
                startPrepare(prepareWaiting.removeFirst())
            }
            condition.unlock()
            complete(job, result)
        }
    }

    // MARK: - Engine thread

    private func run() {
        condition.lock()
        while true {
            while images.isEmpty && texts.isEmpty && !(closing && depth == 0) { condition.wait() }
            if images.isEmpty && texts.isEmpty { break }  // closing, nothing left
            // Text jobs queued by now run before the next batch.
            if !texts.isEmpty {
                let due = texts
                texts.removeAll()
                for job in due { job.state = .running }
                condition.unlock()
                for job in due {
                    if isCancelled(job) { continue }
                    trace?("text")
                    complete(job, Result { try job.payload() })
                }
                condition.lock()
                continue
            }
            // Wait for a full batch, at most until maxBatchWait after the oldest image (not when closing: nothing
            // more can come).
            let deadline = images[0].enqueued.advanced(by: maxBatchWait)
            while !images.isEmpty && images.count < maxBatch && !closing {
                let left = ContinuousClock.now.duration(to: deadline)
                if left <= .zero { break }
                _ = condition.wait(until: Date(timeIntervalSinceNow: Self.seconds(left)))
            }
            if images.isEmpty { continue }  // all cancelled meanwhile
            let batch = Array(images.prefix(maxBatch))
            images.removeFirst(batch.count)
            for job in batch { job.state = .running }
            observer.batch(batch.count)
            condition.unlock()
            trace?("image:\(batch.count)")
            let results = runBatch(batch.map(\.payload))
            for (job, result) in zip(batch, results) {
                complete(job, result.map { ($0, batch.count) })
            }
            condition.lock()
        }
        finished = true
        let waiters = finishWaiters
        finishWaiters.removeAll()
        condition.unlock()
        for waiter in waiters { waiter.resume() }
    }

    private func isCancelled<Payload, Output>(_ job: EngineJob<Payload, Output>) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return job.continuation == nil
    }

    /// Embeddings of a batch, one result per image: one run of the image tower; if it throws, each image alone, so
    /// that an image the model fails on fails only itself.
    private func runBatch(_ pixelValues: [[Float]]) -> [Result<[Float], Error>] {
        var joined: [Float] = []
        joined.reserveCapacity(pixelValues.reduce(0) { $0 + $1.count })
        for values in pixelValues { joined.append(contentsOf: values) }
        do {
            let embeddings = try embed(joined, pixelValues.count)
            guard embeddings.count == pixelValues.count else {
                throw ServerError.internalError("the image tower gave \(embeddings.count) embeddings for "
                                                + "\(pixelValues.count) images")
            }
            return embeddings.map { .success($0) }
        } catch {
            guard pixelValues.count > 1 else { return [.failure(Self.serverError(error))] }
            return pixelValues.map { values in
                Result {
                    guard let embedding = try embed(values, 1).first else {
                        throw ServerError.internalError("the image tower gave no embedding")
                    }
                    return embedding
                }.mapError(Self.serverError)
            }
        }
    }

    /// A model failure as a 500 naming the reason (a `ServerError` passes through).
    static func serverError(_ error: Error) -> Error {
        if error is ServerError { return error }
        return ServerError.internalError("the image tower failed: \(error.localizedDescription)")
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    // MARK: - Shutdown

    /// Refuses new calls (503), lets the queued and running ones finish, and returns once the engine thread has
    /// stopped.
    func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            closing = true
            condition.broadcast()
            if finished {
                condition.unlock()
                continuation.resume()
            } else {
                finishWaiters.append(continuation)
                condition.unlock()
            }
        }
    }

    /// Refuses new calls and lets the engine thread stop once the queue is empty, without waiting.
    func close() {
        condition.lock()
        closing = true
        condition.broadcast()
        condition.unlock()
    }
}
