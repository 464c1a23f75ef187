// The storefront's one door to the shop: fetch through the gateway's public REST API (docs/API.md).
// Every failure becomes an ApiError carrying the problem+json answer, so a page always has words to show.

export class ApiError extends Error {
  constructor(status, problem = {}, retryAfter = null) {
    super(problem.detail || problem.title || `The shop answered ${status}.`);
    this.status = status;
    this.problem = problem;
    this.code = problem.code || null;
    this.errors = problem.errors || {};
    this.retryAfter = retryAfter;
  }

  /** What to tell the shopper: the problem's detail, or when to try again after a 429. */
  describe() {
    if (this.status === 429) {
      const seconds = this.retryAfter ?? 1;
      return `Too many attempts: try again in ${seconds} s.`;
    }
    const fields = Object.entries(this.errors)
      .filter(([name]) => name !== "non_field_errors")
      .map(([name, messages]) => `${name}: ${messages.join(" ")}`);
    return [this.message, ...fields].join(" ");
  }
}

/**
 * One request. `token`: the access token to send; `idempotencyKey`: the checkout attempt's key.
 * Resolves to the parsed JSON (null for 204); rejects with ApiError.
 */
export async function request(path, { method = "GET", body, token, idempotencyKey } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  let answer;
  try {
    answer = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, { detail: "The shop cannot be reached. Check your connection and try again." });
  }
  const data = await parsed(answer);
  if (answer.ok) return data;
  const problem = data && typeof data === "object" ? data : { detail: `The shop answered ${answer.status}.` };
  const retryAfter = answer.headers.get("Retry-After");
  throw new ApiError(answer.status, problem, retryAfter === null ? null : Number.parseInt(retryAfter, 10));
}

async function parsed(answer) {
  if (answer.status === 204) return null;
  const type = answer.headers.get("Content-Type") || "";
  if (!type.includes("json")) return null;
  try {
    return await answer.json();
  } catch {
    return null;
  }
}

/** "/api/v1/products" + {search: "x", page: 2, empty: ""} -> "/api/v1/products?search=x&page=2". */
export function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(name, value);
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}
