/// <reference path="../pb_data/types.d.ts" />

// A JSON route: GET /api/hello/{name} → {"message": "Hello {name}!", "signedIn": bool}.
routerAdd("GET", "/api/hello/{name}", (e) => {
  const name = e.request.pathValue("name");
  return e.json(200, { message: "Hello " + name + "!", signedIn: e.auth !== null });
});
