#pragma once
// Options for a small real store in a temp dir, shared by the test suites of every module.

#include <memory>
#include <string>

#include "common/clock.h"
#include "storage/store.h"

namespace cdp::testing {

inline storage::StoreOptions SmallStoreOptions(const std::string& data_dir, Clock* clock) {
  storage::StoreOptions options;
  options.data_dir = data_dir;
  options.block_cache_bytes = 8 << 20;
  options.write_buffer_bytes = 4 << 20;
  options.data_key_cache_capacity = 1024;
  options.clock = clock;
  return options;
}

}  // namespace cdp::testing
