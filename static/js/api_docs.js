// /docs: Swagger UI (vendored, a classic script that defines window.SwaggerUIBundle) pointed at
// this server's OpenAPI document, whose URL the page gives in data-openapi-url.
const root = document.getElementById("swagger-ui");
window.SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  domNode: root,
  deepLinking: true,
  tryItOutEnabled: false,
});
