// Starts Swagger UI on the service's own openapi.yaml. A separate file, not an inline
// script, so the page's Content-Security-Policy can stay at script-src 'self'.
window.ui = SwaggerUIBundle({
  url: "openapi.yaml",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // Open every operation's summary line; no remote validator badge (it calls out).
  docExpansion: "list",
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
});
