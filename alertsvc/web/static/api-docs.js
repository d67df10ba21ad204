// Starts Swagger UI on /docs. It is a file, not an inline <script>, so the page runs under a Content-Security-Policy
// without 'unsafe-inline'; the page passes the OpenAPI document's address in data-openapi-url.
(function () {
  "use strict";
  var holder = document.getElementById("swagger-ui");
  if (!holder || typeof SwaggerUIBundle === "undefined") { return; }
  window.ui = SwaggerUIBundle({
    url: holder.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    // No badge fetched from validator.swagger.io: the page never leaves this server.
    validatorUrl: null
  });
})();
