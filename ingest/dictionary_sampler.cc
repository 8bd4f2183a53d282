#include "ingest/dictionary_sampler.h"

#include <zdict.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/json_text.h"
#include "simdjson.h"

namespace cdp::ingest {
namespace {

// Tokens are typed so that a key never vouches for an equal value: "k" key, "s" string,
// "n" number (its JSON text).
std::string Token(char kind, std::string_view text) {
  std::string token(1, kind);
  token.append(text.data(), text.size());
  return token;
}

absl::string_view Absl(std::string_view text) { return {text.data(), text.size()}; }

// Distinct profiles per token, each set capped at the threshold that makes it kept.
class TokenCounts {
 public:
  explicit TokenCounts(size_t keep_at) : keep_at_(keep_at) {}

  void Count(simdjson::dom::element value, uint32_t profile) {
    switch (value.type()) {
      case simdjson::dom::element_type::OBJECT: {
        const simdjson::dom::object object(value);
        for (simdjson::dom::key_value_pair field : object) {
          Add(Token('k', field.key), profile);
          Count(field.value, profile);
        }
        break;
      }
      case simdjson::dom::element_type::ARRAY: {
        const simdjson::dom::array array(value);
        for (simdjson::dom::element item : array) Count(item, profile);
        break;
      }
      case simdjson::dom::element_type::STRING:
        Add(Token('s', std::string_view(value)), profile);
        break;
      case simdjson::dom::element_type::INT64:
      case simdjson::dom::element_type::UINT64:
      case simdjson::dom::element_type::DOUBLE:
        Add(Token('n', simdjson::minify(value)), profile);
        break;
      default:  // true, false, null: the same for everyone
        break;
    }
  }

  bool Kept(const std::string& token) const {
    auto it = profiles_.find(token);
    return it != profiles_.end() && it->second.size() >= keep_at_;
  }

 private:
  void Add(std::string token, uint32_t profile) {
    absl::flat_hash_set<uint32_t>& seen = profiles_[std::move(token)];
    if (seen.size() < keep_at_) seen.insert(profile);
  }

  size_t keep_at_;
  absl::flat_hash_map<std::string, absl::flat_hash_set<uint32_t>> profiles_;
};

// Writes `value` as compact JSON with every key and value `counts` does not keep blanked.
void WriteScrubbed(simdjson::dom::element value, const TokenCounts& counts, std::string* out) {
  switch (value.type()) {
    case simdjson::dom::element_type::OBJECT: {
      out->push_back('{');
      bool first = true;
      const simdjson::dom::object object(value);
      for (simdjson::dom::key_value_pair field : object) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(counts.Kept(Token('k', field.key)) ? Absl(field.key) : "", out);
        out->push_back(':');
        WriteScrubbed(field.value, counts, out);
      }
      out->push_back('}');
      break;
    }
    case simdjson::dom::element_type::ARRAY: {
      out->push_back('[');
      bool first = true;
      const simdjson::dom::array array(value);
      for (simdjson::dom::element item : array) {
        if (!first) out->push_back(',');
        first = false;
        WriteScrubbed(item, counts, out);
      }
      out->push_back(']');
      break;
    }
    case simdjson::dom::element_type::STRING: {
      const std::string_view text = std::string_view(value);
      AppendJsonString(counts.Kept(Token('s', text)) ? Absl(text) : "", out);
      break;
    }
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE: {
      const std::string text = simdjson::minify(value);
      out->append(counts.Kept(Token('n', text)) ? text : "0");
      break;
    }
    default:
      out->append(simdjson::minify(value));
      break;
  }
}

}  // namespace

DictionarySampler::DictionarySampler(DictionarySamplerOptions options)
    : options_(std::move(options)) {}

void DictionarySampler::Add(const ProfileId& profile, absl::string_view json) {
  if (Ready()) return;
  if (bytes_ + json.size() > options_.max_sample_bytes) {
    // Full by bytes: train on it when it spans enough people, else start over.
    if (profiles_.size() >= options_.min_profiles) {
      full_ = true;
      return;
    }
    Clear();
    if (json.size() > options_.max_sample_bytes) return;
  }
  auto [it, inserted] =
      profiles_.try_emplace(profile, Sampled{static_cast<uint32_t>(profiles_.size()), 0});
  if (it->second.events >= options_.max_events_per_profile) return;
  ++it->second.events;
  samples_.emplace_back(json);
  sample_profiles_.push_back(it->second.index);
  bytes_ += json.size();
  if (samples_.size() >= options_.sample_events && profiles_.size() < options_.min_profiles) {
    Clear();
  }
}

bool DictionarySampler::Ready() const {
  return !samples_.empty() && (full_ || samples_.size() >= options_.sample_events) &&
         profiles_.size() >= options_.min_profiles;
}

void DictionarySampler::Clear() {
  samples_.clear();
  samples_.shrink_to_fit();
  sample_profiles_.clear();
  sample_profiles_.shrink_to_fit();
  profiles_.clear();
  bytes_ = 0;
  full_ = false;
}

std::vector<std::string> DictionarySampler::Scrubbed() const {
  const size_t keep_at = std::max<size_t>(
      options_.min_profiles_per_token,
      static_cast<size_t>(std::ceil(options_.min_profile_share * profiles_.size())));
  TokenCounts counts(keep_at);
  simdjson::dom::parser parser;
  for (size_t i = 0; i < samples_.size(); ++i) {
    simdjson::dom::element root;
    if (parser.parse(samples_[i]).get(root) != simdjson::SUCCESS) continue;
    counts.Count(root, sample_profiles_[i]);
  }
  std::vector<std::string> scrubbed;
  scrubbed.reserve(samples_.size());
  for (const std::string& sample : samples_) {
    simdjson::dom::element root;
    if (parser.parse(sample).get(root) != simdjson::SUCCESS) continue;
    std::string out;
    out.reserve(sample.size());
    WriteScrubbed(root, counts, &out);
    scrubbed.push_back(std::move(out));
  }
  return scrubbed;
}

absl::StatusOr<std::string> DictionarySampler::Train() {
  if (!Ready()) return absl::FailedPreconditionError("the dictionary sample is not complete");
  const std::vector<std::string> scrubbed = Scrubbed();
  Clear();
  std::string buffer;
  std::vector<size_t> sizes;
  sizes.reserve(scrubbed.size());
  for (const std::string& sample : scrubbed) {
    buffer += sample;
    sizes.push_back(sample.size());
  }
  std::string dictionary(options_.dictionary_bytes, '\0');
  const size_t n =
      ZDICT_trainFromBuffer(dictionary.data(), dictionary.size(), buffer.data(), sizes.data(),
                            static_cast<unsigned>(sizes.size()));
  if (ZDICT_isError(n)) {
    return absl::InternalError(
        absl::StrCat("zstd could not train a dictionary: ", ZDICT_getErrorName(n)));
  }
  dictionary.resize(n);
  return dictionary;
}

}  // namespace cdp::ingest
