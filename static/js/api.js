// The only module that talks to the server.
async function postJson(path, body) {
  const res = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await res.json();
  if (!res.ok) throw new Error(data.message || `HTTP ${res.status}`);
  return data;
}

export function fetchTrace(model, inputs, dtype = "float64") {
  return postJson("api/v1/trace", { model, inputs, dtype });
}
