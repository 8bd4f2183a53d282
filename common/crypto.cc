#include "common/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <pthread.h>

#include <atomic>
#include <cstring>
#include <cstdlib>

#include "common/openssl_util.h"

namespace cdp::crypto {
namespace {

// Fetched once: implicit fetching on every EVP_EncryptInit_ex costs more than the cipher itself.
const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

// One AES-256-GCM context per thread and direction that keeps its key schedule between calls.
// Keying a context (EVP_*Init_ex with a key: key expansion, GHASH table, provider parameters)
// cost more than decrypting a 700-byte event; records are mostly sealed and opened in runs under
// one person's key, so a call under the previous call's key only sets the nonce. The context
// already held the last key's schedule; the copy of the key it is compared with is cleansed
// when the thread ends.
class KeyedGcm {
 public:
  explicit KeyedGcm(bool encrypt) : encrypt_(encrypt) {}
  ~KeyedGcm() { OPENSSL_cleanse(key_, sizeof(key_)); }

  // Returns the context ready for `nonce` under `key` (kAes256KeySize bytes), or null if
  // OpenSSL failed (the next call then keys the context again).
  EVP_CIPHER_CTX* Begin(const SecureBytes& key, const unsigned char* nonce) {
    const bool same_key = keyed_ && CRYPTO_memcmp(key_, key.data(), sizeof(key_)) == 0;
    const EVP_CIPHER* cipher = cipher_set_ ? nullptr : Aes256Gcm();
    const unsigned char* new_key = same_key ? nullptr : key.data();
    const int ok = encrypt_ ? EVP_EncryptInit_ex(ctx_.get(), cipher, nullptr, new_key, nonce)
                            : EVP_DecryptInit_ex(ctx_.get(), cipher, nullptr, new_key, nonce);
    if (ok != 1) {
      keyed_ = false;
      return nullptr;
    }
    cipher_set_ = true;
    if (!same_key) {
      std::memcpy(key_, key.data(), sizeof(key_));
      keyed_ = true;
    }
    return ctx_.get();
  }

 private:
  const bool encrypt_;
  openssl::CipherCtxPtr ctx_{EVP_CIPHER_CTX_new()};
  bool cipher_set_ = false;
  bool keyed_ = false;
  unsigned char key_[kAes256KeySize] = {};
};

KeyedGcm& ThreadGcm(bool encrypt) {
  thread_local KeyedGcm sealer(true);
  thread_local KeyedGcm opener(false);
  return encrypt ? sealer : opener;
}

EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

std::atomic<uint64_t> next_hmac_instance{1};

// RAND_bytes costs ~1.8 us per call here whatever the size (OpenSSL 3.0 checks for a fork with a
// getpid() system call on each call), so nonces are cut from a per-thread buffer of CSPRNG output.
// A fork in between would hand the child the parent's unused bytes: the generation counter bumped
// by the atfork handler throws the buffer away.
std::atomic<uint64_t> fork_generation{0};

void OnFork() { fork_generation.fetch_add(1, std::memory_order_relaxed); }

struct NonceBuffer {
  static constexpr size_t kSize = 4096;
  unsigned char bytes[kSize];
  size_t used = kSize;
  uint64_t generation = 0;

  NonceBuffer() {
    static const bool registered = pthread_atfork(nullptr, nullptr, OnFork) == 0;
    (void)registered;
  }
  ~NonceBuffer() { OPENSSL_cleanse(bytes, kSize); }

  void Take(unsigned char* out, size_t n) {
    const uint64_t current = fork_generation.load(std::memory_order_relaxed);
    if (used + n > kSize || generation != current) {
      if (RAND_bytes(bytes, kSize) != 1) abort();
      used = 0;
      generation = current;
    }
    std::memcpy(out, bytes + used, n);
    OPENSSL_cleanse(bytes + used, n);
    used += n;
  }
};

void FreshNonce(unsigned char* out) {
  thread_local NonceBuffer buffer;
  buffer.Take(out, kGcmNonceSize);
}

struct ThreadMac {
  openssl::MacCtxPtr ctx{EVP_MAC_CTX_new(HmacAlgorithm())};
  uint64_t keyed_for = 0;
};

}  // namespace

std::string RandomBytes(size_t size) {
  std::string out(size, '\0');
  if (size > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                             static_cast<int>(size)) != 1) {
    abort();
  }
  return out;
}

SecureBytes RandomKey(size_t size) {
  SecureBytes key(size);
  if (RAND_bytes(key.mutable_data(), static_cast<int>(size)) != 1) abort();
  return key;
}

absl::Status AesGcmSeal(const SecureBytes& key, absl::string_view aad, absl::string_view plaintext,
                        std::string* out) {
  if (key.size() != kAes256KeySize) return absl::InternalError("AES-256-GCM key must be 32 bytes");
  const size_t start = out->size();
  out->resize(start + kGcmNonceSize + plaintext.size() + kGcmTagSize);
  auto* nonce = reinterpret_cast<unsigned char*>(out->data() + start);
  auto* body = nonce + kGcmNonceSize;
  FreshNonce(nonce);
  int len = 0;
  EVP_CIPHER_CTX* ctx = ThreadGcm(/*encrypt=*/true).Begin(key, nonce);
  if (ctx == nullptr ||
      (!aad.empty() &&
       EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                         static_cast<int>(aad.size())) != 1) ||
      EVP_EncryptUpdate(ctx, body, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx, body + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kGcmTagSize, body + plaintext.size()) != 1) {
    out->resize(start);
    return openssl::ErrorStatus(absl::StatusCode::kInternal, "AES-256-GCM seal failed");
  }
  return absl::OkStatus();
}

absl::Status AesGcmOpen(const SecureBytes& key, absl::string_view aad, absl::string_view sealed,
                        std::string* out) {
  if (key.size() != kAes256KeySize) return absl::InternalError("AES-256-GCM key must be 32 bytes");
  if (sealed.size() < kGcmOverhead) {
    return absl::DataLossError("sealed value is shorter than nonce and tag");
  }
  const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
  const auto* body = nonce + kGcmNonceSize;
  const size_t body_size = sealed.size() - kGcmOverhead;
  const size_t start = out->size();
  out->resize(start + body_size);
  auto* plain = reinterpret_cast<unsigned char*>(out->data() + start);
  int len = 0;
  EVP_CIPHER_CTX* ctx = ThreadGcm(/*encrypt=*/false).Begin(key, nonce);
  if (ctx == nullptr ||
      (!aad.empty() &&
       EVP_DecryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                         static_cast<int>(aad.size())) != 1) ||
      EVP_DecryptUpdate(ctx, plain, &len, body, static_cast<int>(body_size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kGcmTagSize,
                          const_cast<unsigned char*>(body + body_size)) != 1) {
    out->resize(start);
    return openssl::ErrorStatus(absl::StatusCode::kInternal, "AES-256-GCM open failed");
  }
  if (EVP_DecryptFinal_ex(ctx, plain + len, &len) != 1) {
    OPENSSL_cleanse(plain, body_size);
    out->resize(start);
    return absl::DataLossError("ciphertext does not authenticate");
  }
  return absl::OkStatus();
}

HmacSha256::HmacSha256(SecureBytes key)
    : key_(std::move(key)), instance_id_(next_hmac_instance.fetch_add(1)) {}

Digest HmacSha256::Mac(std::initializer_list<absl::string_view> parts) const {
  thread_local ThreadMac mac;
  static const OSSL_PARAM params[] = {
      OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_END};
  Digest digest{};
  size_t len = 0;
  // Re-keying costs two SHA-256 blocks; reinitialising with a null key keeps the keyed state.
  const bool rekey = mac.keyed_for != instance_id_;
  if (EVP_MAC_init(mac.ctx.get(), rekey ? key_.data() : nullptr, rekey ? key_.size() : 0,
                   rekey ? params : nullptr) != 1) {
    abort();
  }
  mac.keyed_for = instance_id_;
  for (absl::string_view part : parts) {
    if (EVP_MAC_update(mac.ctx.get(), reinterpret_cast<const unsigned char*>(part.data()),
                       part.size()) != 1) {
      abort();
    }
  }
  if (EVP_MAC_final(mac.ctx.get(), digest.data(), &len, digest.size()) != 1) abort();
  return digest;
}

Digest Sha256(absl::string_view data) {
  Digest digest{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &len, EVP_sha256(), nullptr) != 1) {
    abort();
  }
  return digest;
}

SecureBytes HkdfSha256(const SecureBytes& ikm, absl::string_view salt, absl::string_view info,
                       size_t size) {
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) abort();
  openssl::KdfCtxPtr ctx{EVP_KDF_CTX_new(kdf)};
  if (!ctx) abort();
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                        const_cast<unsigned char*>(ikm.data()), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end()};
  SecureBytes out(size);
  if (EVP_KDF_derive(ctx.get(), out.mutable_data(), out.size(), params) != 1) abort();
  return out;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace cdp::crypto
