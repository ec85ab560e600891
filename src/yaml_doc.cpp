// load_single_document: see yaml_doc.h.
#include "src/yaml_doc.h"

#include <yaml-cpp/eventhandler.h>

#include <sstream>

#include "ddpg/io.h"

namespace ddpg {
namespace {

// Counts documents from their start marks; anything inside them is ignored.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

}  // namespace

YAML::Node load_single_document(const std::string& text, const std::string& origin) {
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentStarts docs;
    while (parser.HandleNextDocument(docs)) {
      const size_t n = docs.starts.size();
      if (n >= 2 && docs.starts[n - 1].pos <= docs.starts[n - 2].pos) {
        throw Error(origin + ": malformed YAML at line " +
                    std::to_string(docs.starts[n - 1].line + 1) +
                    ": the parser cannot read past this point");
      }
      if (n > 1000) break;  // enough to say "more than one"
    }
    if (docs.starts.size() > 1) {
      throw Error(origin + ": holds " + std::to_string(docs.starts.size()) +
                  " YAML documents (separated by ---); it must be one");
    }
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(origin + ": malformed YAML at line " + std::to_string(e.mark.line + 1) + ": " +
                e.msg);
  }
}

}  // namespace ddpg
