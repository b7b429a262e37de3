// Drives Chromium, with JavaScript off, through the survey page.
// Usage: node survey.js PLAN.json  — prints one JSON result per scenario.
//
// PLAN: {"chromium": "/usr/bin/chromium", "scenarios": [{"name": "...",
//   "url": "http://127.0.0.1:PORT/csat/TOKEN", "locale": "fi-FI",
//   "choose": 2 (0: keep the link's score), "comment": "...", "submit": true,
//   "screenshot": "/path/before.png", "screenshot_after": "/path/after.png"}]}
// Result: {"name", "status", "lang", "h1", "checked", "scripts", "h1_after", "status_after", "error"}.
"use strict";
const fs = require("fs");
const path = process.env.SWITCHBOARD_TEST_PLAYWRIGHT || "playwright-core";
const { chromium } = require(path);

async function run(browser, sc) {
  const context = await browser.newContext({ javaScriptEnabled: false, locale: sc.locale, viewport: { width: 700, height: 800 } });
  const page = await context.newPage();
  const out = { name: sc.name };
  try {
    const res = await page.goto(sc.url, { waitUntil: "load" });
    out.status = res.status();
    out.lang = await page.getAttribute("html", "lang");
    out.h1 = (await page.locator("h1").textContent()).trim();
    out.scripts = await page.locator("script").count();
    out.checked = await page.locator("input[name=score]:checked").getAttribute("value", { timeout: 1000 }).catch(() => "");
    if (sc.screenshot) await page.screenshot({ path: sc.screenshot, fullPage: true });
    if (sc.submit) {
      if (sc.choose) await page.locator(`input[name=score][value="${sc.choose}"]`).check();
      if (sc.comment) await page.fill("#comment", sc.comment);
      const [resp] = await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.locator("button[type=submit]").click()]);
      out.status_after = resp ? resp.status() : 0;
      out.h1_after = (await page.locator("h1").textContent()).trim();
      if (sc.screenshot_after) await page.screenshot({ path: sc.screenshot_after, fullPage: true });
    }
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
