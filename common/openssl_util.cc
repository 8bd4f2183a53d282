#include "common/openssl_util.h"

#include <openssl/err.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace cdp::openssl {

absl::Status ErrorStatus(absl::StatusCode code, absl::string_view what) {
  std::string reasons;
  while (unsigned long err = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    absl::StrAppend(&reasons, reasons.empty() ? "" : "; ", buf);
  }
  if (reasons.empty()) return absl::Status(code, what);
  return absl::Status(code, absl::StrCat(what, ": ", reasons));
}

}  // namespace cdp::openssl
