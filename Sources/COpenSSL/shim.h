// OpenSSL's libcrypto (Debian package libssl-dev): the EVP message digests, for SHA-256 in the Inputs target.
#include <openssl/evp.h>
