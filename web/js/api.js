/**
 * The API client: the one module that knows the API's base URL, its error envelope
 * ({"detail": {"code", "message", "details"}}), the Bearer header and what a 401 means (signed out).
 *
 * Every failure becomes an ApiError whose `message` is the server's own `detail.message`, so pages can show it.
 */

import * as config from "../config.js";
import { endsSession, getToken, signOut } from "./auth.js";

export const API_BASE = String(config.API_BASE || "").replace(/\/+$/, "");

export class ApiError extends Error {
  constructor({ status = 0, code = "ERROR", message, details = {}, retryAfter = null }) {
    super(message || "Something went wrong.");
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details && typeof details === "object" ? details : {};
    this.retryAfter = retryAfter;
  }

  get isNotFound() {
    return this.status === 404;
  }

  get isRateLimited() {
    return this.status === 429;
  }
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), or null. */
export function parseRetryAfter(value) {
  if (value === null || value === undefined || value === "") return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(1, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(1, Math.ceil((date - Date.now()) / 1000));
}

/** Build an ApiError from a status, the parsed body (if any) and the Retry-After header. */
export function errorFromResponse(status, body, retryAfterHeader) {
  const detail = body && typeof body === "object" ? body.detail : null;
  const fromDetails = detail?.details?.retry_after;
  if (detail && typeof detail === "object") {
    return new ApiError({
      status,
      code: String(detail.code || "ERROR"),
      message: String(detail.message || defaultMessage(status)),
      details: detail.details,
      retryAfter: parseRetryAfter(retryAfterHeader) ?? parseRetryAfter(fromDetails),
    });
  }
  return new ApiError({
    status,
    code: `HTTP_${status}`,
    message: defaultMessage(status),
    retryAfter: parseRetryAfter(retryAfterHeader),
  });
}

function defaultMessage(status) {
  if (status === 429) return "Too many requests.";
  if (status >= 500) return `The server had a problem (HTTP ${status}). Try again shortly.`;
  if (status === 404) return "Not found.";
  return `The request failed (HTTP ${status}).`;
}

export const NETWORK_ERROR_MESSAGE = "Could not reach the server. Check your connection and try again.";

/**
 * An absolute URL for an API path (the API returns paths such as /api/v1/images/{id}/file). Behind the edge or
 * CloudFront API_BASE is "" (the API is this origin's /api/), and links people copy must still be absolute.
 */
export function apiUrl(path) {
  return /^https?:\/\//.test(path) ? path : new URL(`${API_BASE}${path}`, window.location.href).href;
}

async function request(method, path, { json, headers = {}, auth = true, signal } = {}) {
  const sent = new Headers(headers);
  const token = auth ? getToken() : null;
  if (token) sent.set("Authorization", `Bearer ${token}`);
  let body;
  if (json !== undefined) {
    sent.set("Content-Type", "application/json");
    body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(apiUrl(path), { method, headers: sent, body, signal, credentials: "omit" });
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    throw new ApiError({ status: 0, code: "NETWORK_ERROR", message: NETWORK_ERROR_MESSAGE });
  }
  let data = null;
  if (response.status !== 204) {
    const text = await response.text();
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = errorFromResponse(response.status, data, response.headers.get("Retry-After"));
    if (endsSession(response.status, token)) signOut("Your session has ended. Please sign in again.");
    throw error;
  }
  return data;
}

// --- images --------------------------------------------------------------------------------------

export function requestUpload({ filename, contentType, size, sha256, visibility }) {
  return request("POST", "/api/v1/images/upload-url", {
    json: { filename, content_type: contentType, size, sha256, visibility },
  });
}

export function getImage(id, { signal } = {}) {
  return request("GET", `/api/v1/images/${encodeURIComponent(id)}`, { signal });
}

export function listGallery({ cursor, limit = 24 } = {}) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set("cursor", cursor);
  return request("GET", `/api/v1/images?${query}`);
}

export function deleteImage(id, deleteToken) {
  const headers = deleteToken ? { "X-Delete-Token": deleteToken } : {};
  return request("DELETE", `/api/v1/images/${encodeURIComponent(id)}`, { headers });
}

export function setVisibility(id, visibility) {
  return request("PATCH", `/api/v1/images/${encodeURIComponent(id)}`, { json: { visibility } });
}

export function fileUrl(id) {
  return apiUrl(`/api/v1/images/${encodeURIComponent(id)}/file`);
}

export function thumbnailUrl(id, size) {
  return apiUrl(`/api/v1/images/${encodeURIComponent(id)}/thumbnail?size=${size}`);
}

// --- accounts ------------------------------------------------------------------------------------

export function register(email, password) {
  return request("POST", "/api/v1/auth/register", { json: { email, password }, auth: false });
}

export function login(email, password) {
  return request("POST", "/api/v1/auth/login", { json: { email, password }, auth: false });
}

export function me() {
  return request("GET", "/api/v1/auth/me");
}

export function myImages({ cursor, limit = 24 } = {}) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set("cursor", cursor);
  return request("GET", `/api/v1/users/me/images?${query}`);
}

/** My images that look like my image `id` (the API refuses anyone else's: 404). */
export function similarImages(id) {
  return request("GET", `/api/v1/users/me/images/${encodeURIComponent(id)}/similar`);
}

/** Always answered 202 whether or not the address is registered (the answer must not tell). */
export function requestPasswordReset(email) {
  return request("POST", "/api/v1/auth/password-reset", { json: { email }, auth: false });
}

export function confirmPasswordReset(token, newPassword) {
  return request("POST", "/api/v1/auth/password-reset/confirm", {
    json: { token, new_password: newPassword },
    auth: false,
  });
}

// --- what an image's owner gets ------------------------------------------------------------------

/**
 * The thumbnail to show for an image: for its owner the presigned link the metadata carries (the only way a
 * private image reaches an <img>, which cannot send the bearer token), else the public redirect route.
 */
export function previewUrl(image, size) {
  return image?.owner_links?.thumbnails?.[String(size)] || thumbnailUrl(image.id, size);
}

// --- personal API tokens (a signed-in session only: tokens never manage tokens) -----------------

export function listApiTokens() {
  return request("GET", "/api/v1/users/me/tokens");
}

/** {name, scope: "upload" | "read" | "full", expiresInDays?} -> the token, with its secret (shown once). */
export function createApiToken({ name, scope, expiresInDays }) {
  const json = { name, scope };
  if (expiresInDays) json.expires_in_days = expiresInDays;
  return request("POST", "/api/v1/users/me/tokens", { json });
}

export function revokeApiToken(id) {
  return request("DELETE", `/api/v1/users/me/tokens/${encodeURIComponent(id)}`);
}

// --- large files: multipart uploads (see web/js/large-upload.js) ---------------------------------

function uploadCredentials(deleteToken) {
  return deleteToken ? { "X-Delete-Token": deleteToken } : {};
}

export function createMultipart({ filename, contentType, size, sha256, visibility }) {
  return request("POST", "/api/v1/images/multipart", {
    json: { filename, content_type: contentType, size, sha256, visibility },
  });
}

export async function signMultipartParts(id, parts, deleteToken) {
  const body = await request("POST", `/api/v1/images/${encodeURIComponent(id)}/multipart/parts`, {
    json: { parts },
    headers: uploadCredentials(deleteToken),
  });
  return body.parts;
}

export function listMultipartParts(id, deleteToken) {
  return request("GET", `/api/v1/images/${encodeURIComponent(id)}/multipart/parts`, {
    headers: uploadCredentials(deleteToken),
  });
}

export function completeMultipart(id, deleteToken) {
  return request("POST", `/api/v1/images/${encodeURIComponent(id)}/multipart/complete`, {
    json: {},
    headers: uploadCredentials(deleteToken),
  });
}

export function abortMultipart(id, deleteToken) {
  return request("DELETE", `/api/v1/images/${encodeURIComponent(id)}/multipart`, {
    headers: uploadCredentials(deleteToken),
  });
}
