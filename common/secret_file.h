#pragma once
// WriteSecretFile: replaces a file holding secrets (keys, tokens) atomically and durably: write
// to "<path>.tmp" created with mode 0600, fsync, rename over `path`, fsync the directory. A
// reader sees the old file or the new one, never a mix; a crash leaves at most the .tmp behind.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cdp {

// kResourceExhausted when the disk is full, kInternal for other I/O errors (naming the path).
absl::Status WriteSecretFile(const std::string& path, absl::string_view contents);

}  // namespace cdp
