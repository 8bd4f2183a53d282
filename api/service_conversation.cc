// Conversation calls: putConversation, closeConversation.

#include "absl/strings/str_cat.h"
#include "api/service_internal.h"

namespace cdp::api {

void ConversationToThrift(const ingest::ConversationView& c, t::Conversation* out) {
  out->conversation_id = c.conversation_id;
  out->channel = c.channel;
  out->state = c.state;
  out->created_micros = c.created_micros;
  out->updated_micros = c.updated_micros;
  out->expires_micros = c.expires_micros;
}

void ConnectionHandler::putConversation(t::PutConversationResponse& out,
                                        const t::PutConversationRequest& request) {
  Run(CallId::kPutConversation, request.token, kCxRole, Admission::Kind::kWrite,
      [&](const Caller& caller) -> absl::Status {
        Stack& stack = core_->stack();
        ingest::ConversationUpdate update{.conversation_id = request.conversation_id,
                                          .channel = request.channel,
                                          .remove_keys = request.remove_keys};
        update.state.insert(request.state.begin(), request.state.end());
        auto subject = SubjectOf(request.person);
        if (!subject.ok()) return subject.status();
        update.subject = *std::move(subject);
        if (request.__isset.ttl_seconds) update.ttl_seconds = request.ttl_seconds;
        // Refuse a bad update before creating anybody.
        if (absl::Status s = ingest::ValidateConversationUpdate(update); !s.ok()) return s;
        ProfileId profile;
        {
          // An identifier nobody holds yet creates the person first, in its own write.
          absl::MutexLock lock(&stack.store->profile_writer_mutex());
          storage::WriteBatch batch = stack.store->NewBatch();
          auto found = FindOrCreatePerson(request.person, batch);
          if (!found.ok()) return found.status();
          profile = *found;
          if (absl::Status s = stack.store->Write(batch); !s.ok()) return s;
        }
        auto conversation = stack.conversations->Put(profile, update);
        if (!conversation.ok()) return conversation.status();
        out.profile_id = conversation->profile.ToHex();
        ConversationToThrift(*conversation, &out.conversation);
        return absl::OkStatus();
      });
}

void ConnectionHandler::closeConversation(t::CloseConversationResponse& out,
                                          const t::CloseConversationRequest& request) {
  Run(CallId::kCloseConversation, request.token, kCxRole, Admission::Kind::kWrite,
      [&](const Caller& caller) -> absl::Status {
        auto profile = FindPerson(request.person);
        if (!profile.ok()) return profile.status();
        return core_->stack().conversations->Close(*profile, request.conversation_id);
      });
}

}  // namespace cdp::api
