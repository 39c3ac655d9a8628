// The page assets of `flare view`, embedded at build time from viewer/html/
// (cmake/EmbedFiles.cmake), so the binary writes pages with no files beside it.
#pragma once

#include <string_view>

namespace flare::viewer::html_assets {

extern const std::string_view kPageTemplate;  // html/page.html, with @FLARE_...@ placeholders
extern const std::string_view kPageStyle;     // html/flare.css
extern const std::string_view kPageScript;    // html/flare.js

}  // namespace flare::viewer::html_assets
