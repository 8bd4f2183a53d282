#include "storage/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "common/secret_file.h"
#include "common/status_macros.h"

namespace cdp::storage {
namespace {

constexpr absl::string_view kMagic = "cdp-keys";

absl::Status IoError(absl::string_view what, const std::string& path) {
  const int err = errno;
  const auto code =
      err == ENOSPC ? absl::StatusCode::kResourceExhausted : absl::StatusCode::kInternal;
  return absl::Status(code, absl::StrCat(what, " ", path, ": ", std::strerror(err)));
}

absl::StatusOr<SecureBytes> ParseKeyHex(absl::string_view hex, const std::string& path, int line) {
  bool hex_ok = hex.size() == 64;
  for (char c : hex) hex_ok = hex_ok && absl::ascii_isxdigit(static_cast<unsigned char>(c));
  if (!hex_ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("key file ", path, " line ", line, ": a key must be 64 hex digits"));
  }
  std::string bytes = absl::HexStringToBytes(hex);
  SecureBytes key(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return key;
}

std::string Serialize(const KeyMaterial& material) {
  std::string text = absl::StrCat(
      "# CDP key file: the root secrets of one store. Keep it secret (mode 0600) and back it up\n"
      "# apart from the data. Losing it makes the data unreadable.\n",
      kMagic, " 1\n", "index ", absl::BytesToHexString(material.index_key.view()), "\n");
  for (const auto& [version, kek] : material.keks) {
    absl::StrAppend(&text, "kek ", version, " ", absl::BytesToHexString(kek.view()), "\n");
  }
  return text;
}

}  // namespace

std::string KeyFingerprint(const SecureBytes& key) {
  crypto::HmacSha256 mac(key.Clone());
  crypto::Digest digest = mac.Mac({"cdp key fingerprint v1"});
  return absl::BytesToHexString(crypto::AsStringView(digest).substr(0, 16));
}

absl::StatusOr<KeyMaterial> KeyFile::Load(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("key file ", path, " not found"));
    return IoError("cannot stat key file", path);
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "key file ", path, " may be read by group or others (mode ",
        absl::StrFormat("%04o", st.st_mode & 07777), "); run: chmod 600 ", path));
  }
  std::ifstream in(path);
  if (!in) return IoError("cannot open key file", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();

  KeyMaterial material;
  bool saw_magic = false;
  int line_no = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_no;
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    auto malformed = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("key file ", path, " line ", line_no, ": ", why));
    };
    if (!saw_magic) {
      if (fields.size() != 2 || fields[0] != kMagic || fields[1] != "1") {
        return malformed("expected the header 'cdp-keys 1'");
      }
      saw_magic = true;
    } else if (fields[0] == "index" && fields.size() == 2) {
      if (!material.index_key.empty()) return malformed("more than one index key");
      CDP_ASSIGN_OR_RETURN(material.index_key, ParseKeyHex(fields[1], path, line_no));
    } else if (fields[0] == "kek" && fields.size() == 3) {
      uint32_t version = 0;
      if (!absl::SimpleAtoi(fields[1], &version) || version == 0) {
        return malformed("a kek version must be a positive integer");
      }
      if (material.keks.contains(version)) return malformed("duplicate kek version");
      CDP_ASSIGN_OR_RETURN(SecureBytes kek, ParseKeyHex(fields[2], path, line_no));
      material.keks.emplace(version, std::move(kek));
    } else {
      return malformed("expected 'index <hex>' or 'kek <version> <hex>'");
    }
  }
  OPENSSL_cleanse(text.data(), text.size());
  if (!saw_magic || material.index_key.empty() || material.keks.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("key file ", path, " must hold the header, an index key and a kek"));
  }
  return material;
}

absl::StatusOr<KeyMaterial> KeyFile::Create(const std::string& path) {
  if (std::filesystem::exists(path)) {
    return absl::AlreadyExistsError(absl::StrCat("key file ", path, " already exists"));
  }
  KeyMaterial material;
  material.index_key = crypto::RandomKey();
  material.keks.emplace(1, crypto::RandomKey());
  CDP_RETURN_IF_ERROR(Save(path, material));
  return material;
}

absl::Status KeyFile::Save(const std::string& path, const KeyMaterial& material) {
  std::string text = Serialize(material);
  absl::Status status = WriteSecretFile(path, text);
  OPENSSL_cleanse(text.data(), text.size());
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat("key file: ", status.message()));
  }
  return absl::OkStatus();
}

}  // namespace cdp::storage
