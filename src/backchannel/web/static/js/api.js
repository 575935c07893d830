// The REST client: JSON in, JSON out, errors as ApiError (code, status, message).

import { url } from "./base.js";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** A path with a query string built from `params` (null/undefined are left out). */
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined) query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * createApi() → {get, post, patch, del}. `onUnauthorized` is called when a
 * request answers 401 unauthorized (the session ended), except for login.
 */
export function createApi() {
  const api = { onUnauthorized: null };

  async function request(method, path, body, headers = {}) {
    const options = {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json", ...headers },
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url(path), options);
    } catch (err) {
      throw new ApiError(0, "network_error", "The server could not be reached.");
    }
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    if (!response.ok) {
      const detail = data && data.error ? data.error : {};
      const error = new ApiError(
        response.status,
        detail.code || `http_${response.status}`,
        detail.message || `The server answered ${response.status}.`,
      );
      if (response.status === 401 && error.code === "unauthorized" && api.onUnauthorized) {
        api.onUnauthorized(error);
      }
      throw error;
    }
    return data;
  }

  api.get = (path) => request("GET", path);
  api.post = (path, body, headers) => request("POST", path, body, headers);
  api.patch = (path, body) => request("PATCH", path, body);
  api.del = (path) => request("DELETE", path);
  return api;
}
