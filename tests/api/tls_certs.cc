#include "tests/api/tls_certs.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/openssl_util.h"

namespace cdp::testing {

namespace {

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;
using Bio = std::unique_ptr<BIO, BioFree>;

absl::Status OpenSslError(const std::string& what) {
  return openssl::ErrorStatus(absl::StatusCode::kInternal, what);
}

absl::StatusOr<Key> NewKey() {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) return OpenSslError("EVP_PKEY_Q_keygen");
  return key;
}

// A certificate for `key` named `cn`, signed by `issuer_key` (self-signed when `issuer` is null).
absl::StatusOr<Cert> NewCert(const std::string& cn, EVP_PKEY* key, X509* issuer,
                             EVP_PKEY* issuer_key, long serial,
                             const std::vector<std::pair<int, std::string>>& extensions) {
  Cert cert(X509_new());
  if (cert == nullptr) return OpenSslError("X509_new");
  X509* c = cert.get();
  X509_NAME* subject = X509_get_subject_name(c);
  const bool ok =
      X509_set_version(c, X509_VERSION_3) == 1 &&
      ASN1_INTEGER_set(X509_get_serialNumber(c), serial) == 1 &&
      X509_gmtime_adj(X509_getm_notBefore(c), -3600) != nullptr &&
      X509_gmtime_adj(X509_getm_notAfter(c), 30L * 24 * 3600) != nullptr &&
      X509_set_pubkey(c, key) == 1 &&
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) == 1 &&
      X509_set_issuer_name(c, issuer != nullptr ? X509_get_subject_name(issuer) : subject) == 1;
  if (!ok) return OpenSslError(absl::StrCat("certificate fields of ", cn));
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : c, c, nullptr, nullptr, 0);
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr) return OpenSslError(absl::StrCat("extension ", value));
    const int added = X509_add_ext(c, ext, -1);
    X509_EXTENSION_free(ext);
    if (added != 1) return OpenSslError(absl::StrCat("X509_add_ext ", value));
  }
  if (X509_sign(c, issuer_key, EVP_sha256()) == 0) {
    return OpenSslError(absl::StrCat("X509_sign ", cn));
  }
  return cert;
}

absl::Status WritePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  Bio bio(BIO_new_file(path.c_str(), "w"));
  if (bio == nullptr) return OpenSslError(absl::StrCat("cannot write ", path));
  const int ok = cert != nullptr ? PEM_write_bio_X509(bio.get(), cert)
                                 : PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0,
                                                            nullptr, nullptr);
  if (ok != 1) return OpenSslError(absl::StrCat("PEM to ", path));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TestPki> MakeTestPki(const std::string& dir, const std::string& prefix,
                                    const std::string& client_name) {
  const std::string base = absl::StrCat(dir, "/", prefix, "-");
  TestPki pki{.ca_cert = base + "ca.pem",
              .server_cert = base + "server.pem",
              .server_key = base + "server.key",
              .client_cert = base + "client.pem",
              .client_key = base + "client.key"};
  absl::StatusOr<Key> ca_key = NewKey();
  absl::StatusOr<Key> server_key = NewKey();
  absl::StatusOr<Key> client_key = NewKey();
  for (const auto* key : {&ca_key, &server_key, &client_key}) {
    if (!key->ok()) return key->status();
  }
  absl::StatusOr<Cert> ca =
      NewCert(absl::StrCat(prefix, " test CA"), ca_key->get(), nullptr, ca_key->get(), 1,
              {{NID_basic_constraints, "critical,CA:TRUE"},
               {NID_key_usage, "critical,keyCertSign,cRLSign"},
               {NID_subject_key_identifier, "hash"}});
  if (!ca.ok()) return ca.status();
  absl::StatusOr<Cert> server = NewCert("localhost", server_key->get(), ca->get(), ca_key->get(), 2,
                                        {{NID_basic_constraints, "CA:FALSE"},
                                         {NID_key_usage, "critical,digitalSignature"},
                                         {NID_ext_key_usage, "serverAuth"},
                                         {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"}});
  if (!server.ok()) return server.status();
  absl::StatusOr<Cert> client = NewCert(client_name, client_key->get(), ca->get(), ca_key->get(), 3,
                                        {{NID_basic_constraints, "CA:FALSE"},
                                         {NID_key_usage, "critical,digitalSignature"},
                                         {NID_ext_key_usage, "clientAuth"}});
  if (!client.ok()) return client.status();
  for (absl::Status s : {WritePem(pki.ca_cert, ca->get(), nullptr),
                         WritePem(pki.server_cert, server->get(), nullptr),
                         WritePem(pki.server_key, nullptr, server_key->get()),
                         WritePem(pki.client_cert, client->get(), nullptr),
                         WritePem(pki.client_key, nullptr, client_key->get())}) {
    if (!s.ok()) return s;
  }
  return pki;
}

}  // namespace cdp::testing
