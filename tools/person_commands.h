#pragma once
// Offline person-level subcommands of `cdp`: they open the store directly (the server must not be
// running). They print identifier and trait values only where the operator asked for a person.

#include <string>
#include <vector>

namespace cdp::tools {

// Loads the bundled sample feed on first use, then shows one person across channels.
int RunDemo(const std::string& data_dir);

// Ingests NDJSON files, {"batch": [...]} files, or CSV files with `mapping_path` ("-" = stdin).
// Prints a summary per file and writes rejected records to "<file>.rejected.ndjson".
int RunIngest(const std::string& data_dir, const std::vector<std::string>& files,
              const std::string& mapping_path);

// `who` is "type=value" (email=ann@example.com) or a 32-hex-digit profile id.
int RunLookup(const std::string& data_dir, const std::string& who, const std::string& purpose,
              size_t max_events);

// Subject rights, offline. `who` as for lookup; actor and reason go to the audit log.
int RunExport(const std::string& data_dir, const std::string& who, const std::string& actor,
              const std::string& reason);
int RunErase(const std::string& data_dir, const std::string& who, const std::string& actor,
             const std::string& reason);
int RunUnsuppress(const std::string& data_dir, const std::string& who, const std::string& actor,
                  const std::string& reason);
int RunAuditVerify(const std::string& data_dir);
// Takes `identifier` (type=value) off `profile` and splits the profile; audited.
int RunUnmerge(const std::string& data_dir, const std::string& profile,
               const std::string& identifier, const std::string& actor, const std::string& reason);
// Rotates the key-encryption key; audited.
int RunRotateKeys(const std::string& data_dir, const std::string& actor);

}  // namespace cdp::tools
