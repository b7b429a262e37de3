// Drives Chromium, with JavaScript off, through the self-service page.
// Usage: node browser.js PLAN.json  — prints one JSON result per scenario.
//
// PLAN: {"chromium": "/usr/bin/chromium", "scenarios": [{
//   "name": "...", "url": "http://127.0.0.1:PORT/me/TOKEN", "locale": "fi-FI",
//   "purpose": "marketing",                     the row whose button is pressed
//   "screenshot": "/path/before.png", "screenshot_after": "/path/after.png"}]}
// Result: {"name", "lang", "title", "h2": [...], "state_before", "button", "state_after", "notice", "scripts", "error"}.
"use strict";
const fs = require("fs");
const path = process.env.SWITCHBOARD_TEST_PLAYWRIGHT || "playwright-core";
const { chromium } = require(path);

async function run(browser, sc) {
  const context = await browser.newContext({ javaScriptEnabled: false, locale: sc.locale, viewport: { width: 900, height: 1000 } });
  const page = await context.newPage();
  const out = { name: sc.name };
  try {
    await page.goto(sc.url, { waitUntil: "load" });
    out.lang = await page.getAttribute("html", "lang");
    out.title = await page.title();
    out.h2 = await page.locator("h2").allTextContents();
    out.scripts = await page.locator("script").count();
    const row = page.locator(`#purpose-${sc.purpose}`);
    out.state_before = (await row.locator(".state").textContent()).trim();
    const button = row.locator("button[type=submit]");
    out.button = (await button.textContent()).trim();
    if (sc.screenshot) await page.screenshot({ path: sc.screenshot, fullPage: true });
    await Promise.all([page.waitForNavigation({ waitUntil: "load" }), button.click()]);
    out.state_after = (await page.locator(`#purpose-${sc.purpose} .state`).textContent()).trim();
    out.notice = ((await page.locator("section[aria-labelledby=consents] .note").textContent({ timeout: 2000 }).catch(() => "")) || "").trim();
    if (sc.screenshot_after) await page.screenshot({ path: sc.screenshot_after, fullPage: true });
  } catch (e) {
    out.error = String(e);
  }
  await context.close();
  return out;
}

(async () => {
  const plan = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const browser = await chromium.launch({
    executablePath: plan.chromium || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    for (const sc of plan.scenarios) console.log(JSON.stringify(await run(browser, sc)));
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error(e); process.exit(1); });
