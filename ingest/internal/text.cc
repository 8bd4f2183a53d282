#include "ingest/internal/text.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "simdjson.h"

namespace cdp::ingest::internal {


bool IsValidUtf8(absl::string_view text) {
  return simdjson::validate_utf8(text.data(), text.size());
}

size_t CountCodePoints(absl::string_view text) {
  size_t count = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;  // not a continuation byte
  }
  return count;
}

std::string DeriveMessageId(absl::string_view canonical) {
  const crypto::Digest digest = crypto::Sha256(canonical);
  return absl::StrCat("derived-", absl::BytesToHexString(crypto::AsStringView(digest)));
}

bool IsValidTypeName(absl::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

bool IsBuiltinTypeName(absl::string_view name) {
  return name == "user_id" || name == "anonymous_id" || name == "email" || name == "phone" ||
         name == "device_id";
}

bool IsBlank(absl::string_view text) {
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

std::string QuoteName(absl::string_view name) {
  return absl::StrCat("\"", absl::CEscape(name), "\"");
}

}  // namespace cdp::ingest::internal
