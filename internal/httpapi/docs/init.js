// Starts Swagger UI on this server's document. Kept out of index.html so the
// page runs under a Content-Security-Policy without 'unsafe-inline' scripts.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: true
  });
});
