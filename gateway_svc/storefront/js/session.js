// Who is signed in, and their tokens.
//
// The access token (5 minutes) lives in this page's memory only. The refresh token (7 days, rotated on every
// use) is kept in localStorage, so a reload or a new tab stays signed in; see the README for why. An access
// token the API refuses (expired, or revoked) is refreshed once, silently; when the refresh is refused too
// the session is over and the shopper is sent to sign in.

import { ApiError, request } from "./api.js";

const REFRESH_KEY = "shop.refresh-token";
const EMAIL_KEY = "shop.email";
export const events = new EventTarget();

let accessToken = null;
let refreshing = null;

export function isSignedIn() {
  return localStorage.getItem(REFRESH_KEY) !== null;
}

export function email() {
  return localStorage.getItem(EMAIL_KEY);
}

function keep(pair, address) {
  accessToken = pair.access;
  localStorage.setItem(REFRESH_KEY, pair.refresh);
  if (address) localStorage.setItem(EMAIL_KEY, address);
}

function forget() {
  accessToken = null;
  localStorage.removeItem(REFRESH_KEY);
  localStorage.removeItem(EMAIL_KEY);
}

export async function signIn(address, password) {
  keep(await request("/api/v1/auth/token", { method: "POST", body: { email: address, password } }), address);
  events.dispatchEvent(new Event("signed-in"));
}

export async function register(details) {
  await request("/api/v1/auth/register", { method: "POST", body: details });
  await signIn(details.email, details.password);
}

/** Ends this session at the shop (its refresh and access tokens stop working), then here. */
export async function signOut() {
  const refresh = localStorage.getItem(REFRESH_KEY);
  try {
    if (refresh) await call("/api/v1/auth/logout", { method: "POST", body: { refresh } });
  } catch {
    // Signed out here whatever the shop said: a session it no longer knows is over anyway.
  } finally {
    forget();
    events.dispatchEvent(new Event("signed-out"));
  }
}

/**
 * A new access token from the stored refresh token. One refresh at a time: in this page (callers share
 * the one in flight) and across tabs (a Web Lock), since the refresh token rotates and presenting a
 * rotated one twice makes the shop revoke the whole session. Inside the lock the refresh token is read
 * again, because another tab may have rotated it meanwhile.
 */
function refresh() {
  if (!refreshing) {
    const work = async () => {
      const stored = localStorage.getItem(REFRESH_KEY);
      if (!stored) throw ended();
      try {
        keep(await request("/api/v1/auth/token/refresh", { method: "POST", body: { refresh: stored } }));
      } catch (error) {
        if (error.status === 400 || error.status === 401) {
          forget();
          events.dispatchEvent(new Event("session-ended"));
          throw ended();
        }
        throw error;
      }
    };
    const locked = navigator.locks ? navigator.locks.request("shop.refresh-token", work) : work();
    refreshing = locked.finally(() => (refreshing = null));
  }
  return refreshing;
}

function ended() {
  return new ApiError(401, { detail: "Your session has ended. Please sign in again.", code: "session-ended" });
}

/** A request as the signed-in shopper: refreshes the access token when missing or refused, then retries once. */
export async function call(path, options = {}) {
  if (!isSignedIn()) throw ended();
  if (!accessToken) await refresh();
  try {
    return await request(path, { ...options, token: accessToken });
  } catch (error) {
    if (error.status !== 401) throw error;
    await refresh();
    return request(path, { ...options, token: accessToken });
  }
}
