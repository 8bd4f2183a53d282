#pragma once
// DictionarySampler: trains a store's value dictionary (storage/dictionary_codec.h) from the
// JSON of the events it ingests, so that the events after it are stored compressed.
//
// Privacy: a dictionary is shared by everyone in the store and outlives any one person's
// erasure, so it must hold no personal data. Before training, every JSON object key and scalar
// value of the sample is kept only when enough distinct profiles carried it: at least
// `min_profile_share` of the sampled profiles and at least `min_profiles_per_token`. Everything
// else (message ids, user ids, emails, phone numbers, timestamps, rare values) is blanked ("" or
// 0), which keeps the sample's structure. Samples live in memory only and are dropped once a
// dictionary is trained.
//
// Thread safety: none; the pipeline calls it under the profile writer mutex.

#include <cstddef>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/profile_id.h"

namespace cdp::ingest {

struct DictionarySamplerOptions {
  // Events to sample before training. Default 20,000.
  size_t sample_events = 20'000;
  // Bytes of JSON to sample at most; the sample trains early when it reaches this. Default 8 MiB.
  size_t max_sample_bytes = size_t{8} << 20;
  // Distinct profiles the sample must span. A sample that fills up with fewer is dropped and
  // sampling starts over, so a store of few people is never compressed. Default 1,000.
  size_t min_profiles = 1'000;
  // Events sampled per profile at most; later ones are passed over. Spreads the sample over many
  // people when a feed arrives person by person (a backfill), and keeps one busy person from
  // filling it. Default 4.
  size_t max_events_per_profile = 4;
  // A key or value is kept when at least this share of the sampled profiles carried it...
  double min_profile_share = 0.01;
  // ...and at least this many. Default 20.
  size_t min_profiles_per_token = 20;
  // Size of the trained dictionary. Default 16 KiB.
  size_t dictionary_bytes = size_t{16} << 10;
};

class DictionarySampler {
 public:
  explicit DictionarySampler(DictionarySamplerOptions options = {});

  // Offers the JSON of an event stored for `profile`. Does nothing once Ready().
  void Add(const ProfileId& profile, absl::string_view json);
  // True when the sample is complete and Train may run.
  bool Ready() const;

  // The sample with every key and value too few profiles carried blanked, one compact JSON
  // document per event (a sample that is not valid JSON is left out).
  std::vector<std::string> Scrubbed() const;
  // Trains a dictionary of about `dictionary_bytes` on Scrubbed() and clears the sample.
  // kFailedPrecondition when not Ready(); kInternal when zstd cannot train on it.
  absl::StatusOr<std::string> Train();

 private:
  void Clear();

  DictionarySamplerOptions options_;
  std::vector<std::string> samples_;
  struct Sampled {
    uint32_t index;   // in order of first sample
    uint32_t events;  // sampled so far
  };
  std::vector<uint32_t> sample_profiles_;  // per sample, its profile's index
  absl::flat_hash_map<ProfileId, Sampled> profiles_;
  size_t bytes_ = 0;
  bool full_ = false;  // max_sample_bytes reached with enough profiles: ready early
};

}  // namespace cdp::ingest
