// End-to-end test of the web UI in real headless Chromium (Debian's package, via playwright-core).
//
//   node e2e.mjs main   create a brand → create a template → type the same configuration again and
//                       see the duplicate warning before submitting → run → see the answer, the
//                       version on the timeline, the chart and the result → "Run in all countries":
//                       the batch page reaches "succeeded" with its grid → create a schedule (a bad
//                       cron first: its message on the page) → visibility: the dashboard's empty
//                       state leads to the entities editor (a URL as domain is refused on its
//                       field) → runs → the dashboard shows rates with their intervals, the trend
//                       and share of voice → re-analyse until the job succeeded → a result's
//                       mentions are marked; 375 px screenshots
//   node e2e.mjs drift  (server restarted with another PROMPTER_FAKE_BUILD) run again and see the
//                       drift on the timeline and in the chart, and in the visibility trend
//
//   node e2e.mjs auth   (server restarted with PROMPTER_AUTH=required; PROMPTER_E2E_WRITER_TOKEN and
//                       PROMPTER_E2E_READER_TOKEN from `prompter tokens create`) pages lead to the
//                       sign-in; a wrong token is refused; the writer's cookie is HttpOnly and
//                       SameSite=Strict; a link from another site opens signed in; the live
//                       duplicate check works signed in; sign out; the
//                       reader sees results but no way to change or run anything
//
// PROMPTER_UI_URL is the server; screenshots go to SCREENSHOT_DIR (run.sh: target/ui-screenshots).

import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

const BASE = process.env.PROMPTER_UI_URL || "http://127.0.0.1:8000";
const SHOTS = process.env.SCREENSHOT_DIR || path.resolve("screenshots");
const STATE = path.join(SHOTS, "e2e-state.json");
const phase = process.argv[2] || "main";
fs.mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

const problems = [];
async function newPage(viewport, colorScheme = "light") {
  const context = await browser.newContext({ viewport, colorScheme, timezoneId: "Europe/Zurich", locale: "en-GB" });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  // Console errors include CSP violations: the pages must not trigger any.
  page.on("console", (m) => {
    // The duplicate submitted on purpose answers 409 (a page, not an error of the page).
    const expected =
      (/status of 409/.test(m.text()) && /\/templates$/.test(page.url())) ||
      // The wrong token submitted on purpose answers 401 (the form again, with its message).
      (/status of 401/.test(m.text()) && /\/sign-in$/.test(page.url())) ||
      // The bad cron submitted on purpose answers 422 (the form again, with its message).
      (/status of 422/.test(m.text()) && /\/schedules$/.test(page.url())) ||
      // The URL given as a domain on purpose answers 422 (the editor again, with its message).
      (/status of 422/.test(m.text()) && /\/entities$/.test(page.url()));
    if (m.type() === "error" && !expected) problems.push(`${page.url()}: console error: ${m.text()} [${m.location().url}]`);
  });
  page.on("pageerror", (e) => problems.push(`${page.url()}: ${e.message}`));
  return page;
}

let n = 0;
async function shot(page, name, fullPage = true) {
  n += 1;
  const file = path.join(SHOTS, `${phase}-${String(n).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage });
  console.log(`  screenshot ${path.relative(process.cwd(), file)}`);
}

function step(text) {
  console.log(`- ${text}`);
}

const PROMPT = "What is {{brand_name}} known for in {{country}}? Answer in two sentences.";
// The names the built-in fake puts in its answers (Acme is the brand's alias).
const COMPETITORS = [
  "Northwind", "Contoso | | contoso.example", "Globex", "Initech", "Fabrikam", "Tailwind Traders",
  "Wingtip", "Litware", "Proseware", "Bluepeak", "Everfield",
];

async function fillTemplate(page, name) {
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Model").fill("gpt-4o");
  await page.getByLabel("Countries").fill("US, CH, GB");
  await page.getByLabel("System instructions").fill("Be concise and factual.");
  await page.getByLabel("User prompt").fill(PROMPT);
  await page.getByLabel("Inference parameters").fill('{"temperature": 0.2, "max_tokens": 400}');
}

async function main() {
  const page = await newPage({ width: 1280, height: 900 });

  step("brands page, empty");
  await page.goto(`${BASE}/`);
  await assertVisible(page.getByRole("heading", { name: "Brands", level: 1 }));
  await shot(page, "brands-empty");

  step("keyboard: the first Tab reaches the visible skip link");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), "Skip to content");
  await shot(page, "skip-link-focused", false);

  step("create a brand");
  const brandId = `acme-${Date.now().toString(36)}`;
  await page.getByLabel("Name").fill("Acme Coffee");
  await page.getByLabel("Id").fill(brandId);
  await page.getByRole("button", { name: "Create brand" }).click();
  await page.waitForURL(`**/brands/${brandId}/templates`);
  await assertVisible(page.getByText("No templates in Acme Coffee yet"));
  await shot(page, "templates-empty");

  step("create a template; the live duplicate check says it is new");
  await page.getByRole("link", { name: "New template" }).first().click();
  await page.waitForURL("**/templates/new");
  await fillTemplate(page, "Brand perception");
  await assertVisible(page.locator('#dup-status[data-state="unique"]'));
  assert.equal(await page.locator("#dup-warning").isVisible(), false);
  await shot(page, "new-template-filled");
  await page.getByRole("button", { name: "Create template" }).click();
  await page.waitForURL(/\/templates\/[0-9a-f-]{36}$/);
  const templateUrl = page.url();
  await assertVisible(page.getByRole("heading", { name: "Brand perception", level: 1 }));
  await shot(page, "template-created");

  step("a JSON field with a typo is flagged while typing");
  await page.goto(`${BASE}/brands/${brandId}/templates/new`);
  await page.getByLabel("Inference parameters").fill('{"temperature": 0.2,}');
  await assertVisible(page.locator("#f-inference_params-live-error"));

  step("type the same configuration again: the warning appears before submitting");
  await page.goto(`${BASE}/brands/${brandId}/templates/new`);
  await fillTemplate(page, "Same thing, other name");
  const warning = page.locator("#dup-warning");
  await warning.waitFor({ state: "visible" });
  await assertVisible(warning.getByText("An identical configuration already exists"));
  const link = page.locator("#dup-link");
  assert.equal(await link.textContent(), "Brand perception");
  assert.equal(new URL(await link.getAttribute("href"), BASE).href, templateUrl);
  await shot(page, "duplicate-warning-while-typing");

  step("change only the temperature: no exact twin, but the near-duplicate warning names it");
  await page.getByLabel("Inference parameters").fill('{"temperature": 0.25, "max_tokens": 400}');
  const near = page.locator("#near-warning");
  await near.waitFor({ state: "visible" });
  assert.equal(await page.locator("#dup-warning").isVisible(), false);
  const nearText = (await near.locator("li").first().textContent()).replace(/\s+/g, " ").trim();
  assert.equal(nearText, "differs from «Brand perception» only in temperature");
  assert.equal(new URL(await near.locator("li a").first().getAttribute("href"), BASE).href, templateUrl);
  await shot(page, "near-duplicate-warning-while-typing");
  await page.getByLabel("Inference parameters").fill('{"temperature": 0.2, "max_tokens": 400}');
  await warning.waitFor({ state: "visible" });
  assert.equal(await near.isVisible(), false);

  step("submitting anyway: 409, the same warning, never a raw error");
  await page.getByRole("button", { name: "Create template" }).click();
  await page.waitForLoadState("load");
  await assertVisible(page.locator("#dup-warning"));
  assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), "Same thing, other name");
  await shot(page, "duplicate-submitted-409");

  step("follow the link to the existing template and run it");
  await page.locator("#dup-link").click();
  await page.waitForURL(templateUrl);
  await page.getByLabel("Country").selectOption("CH");
  await page.getByLabel("Brand name").fill("Acme Coffee");
  await page.getByRole("button", { name: "Run template" }).click();
  await page.waitForURL(/\?ran=/);
  const outcome = page.locator("#run-result");
  await assertVisible(outcome.getByRole("heading", { name: "Answer" }));
  const answer = (await outcome.locator(".answer").textContent()).trim();
  assert.ok(answer.length > 0, "the answer is shown");
  const versionKey = (await outcome.locator(".badge-version .mono").textContent()).trim();
  assert.ok(versionKey.length > 0, "the version key is shown");
  console.log(`  answered by version ${versionKey}`);

  step("the version is on the timeline; the chart and the table show the run");
  const timeline = page.locator("#versions .timeline");
  await assertVisible(timeline.locator(".tl-key", { hasText: versionKey }));
  await assertVisible(page.locator("#activity .chart-wide svg.chart-svg rect.bar").first());
  assert.equal(await page.locator("#activity svg title#chart-title").textContent(), "Results per day by version key");
  await assertVisible(page.locator("#results tbody tr").first());
  const timeText = await page.locator("#results tbody time").first().textContent();
  assert.ok(!timeText.includes("UTC"), `times are local: ${timeText}`);
  await shot(page, "run-answer-and-timeline");

  step("two more runs, then the result page");
  for (const country of ["US", "GB"]) {
    await page.getByLabel("Country").selectOption(country);
    await page.getByRole("button", { name: "Run template" }).click();
    await page.waitForURL(/\?ran=/);
    await assertVisible(page.locator("#run-result"));
  }
  assert.equal(await page.locator("#results tbody tr").count(), 3);
  await page.locator("#run-result").getByRole("link", { name: /Full request and response/ }).click();
  await page.waitForURL(/\/results\//);
  await assertVisible(page.getByRole("heading", { name: /Result/, level: 1 }));
  await assertVisible(page.getByText('"alias_snapshot_id": null'));
  await shot(page, "result-detail");

  step("run in all countries: the batch page refreshes until the batch succeeded");
  await page.goto(templateUrl);
  await page.getByLabel("Samples").fill("2");
  await page.getByRole("button", { name: "Run in all countries" }).click();
  await page.waitForURL(/\/batches\/[0-9a-f-]{36}$/);
  const batchUrl = page.url();
  await assertVisible(page.locator('#batch-status[data-status="succeeded"]'));
  assert.deepEqual(await page.locator("#grid th.grid-country").allTextContents(), ["CH", "GB", "US"]);
  assert.equal(await page.locator('#grid .samples a.badge[data-status="succeeded"]').count(), 6);
  assert.equal(await page.locator("#count-succeeded").textContent(), "6");
  await shot(page, "batch-succeeded");
  await page.goto(`${BASE}/brands/${brandId}/batches`);
  await assertVisible(page.locator(`#batches a[href="${new URL(batchUrl).pathname}"]`).first());
  await shot(page, "batches-list");

  step("schedules: a bad cron is explained on the page, then a schedule is created");
  await page.goto(`${BASE}/brands/${brandId}/schedules`);
  await page.getByLabel("Name", { exact: true }).fill("Weekly check");
  await page.getByLabel("Cron").fill("every monday");
  await page.getByRole("button", { name: "Create schedule" }).click();
  await assertVisible(page.locator("#f-cron-error", { hasText: "cron must have 5 fields" }));
  await page.getByLabel("Cron").fill("0 6 * * 1");
  await page.getByLabel("Time zone").fill("Europe/Zurich");
  await page.getByRole("button", { name: "Create schedule" }).click();
  await page.waitForURL(/\/schedules\?done=created$/);
  const schedule = page.locator(".schedule", { hasText: "Weekly check" });
  await assertVisible(schedule.locator(".badge", { hasText: "Active" }));
  await assertVisible(schedule.locator(".schedule-tz", { hasText: "Europe/Zurich" }));
  await shot(page, "schedule-created");

  step("visibility: no entities yet, the dashboard leads to the editor");
  await page.getByRole("link", { name: "Visibility", exact: true }).click();
  await page.waitForURL(`**/brands/${brandId}/visibility`);
  await assertVisible(page.locator("#no-entities"));
  await page.getByRole("link", { name: "Set up entities" }).click();
  await page.waitForURL(`**/brands/${brandId}/entities`);
  assert.equal(await page.getByLabel("Brand name").inputValue(), "Acme Coffee");
  await page.getByLabel("Aliases").fill("Acme");
  await page.getByLabel("Domains").fill("https://acme.example/");
  await page.getByRole("textbox", { name: /^Competitors/ }).fill(COMPETITORS.join("\n"));
  await page.getByRole("button", { name: "Save entities" }).click();
  await assertVisible(page.locator("#f-brand_domains-error", { hasText: "brand.domains[0] must be a host name" }));
  await shot(page, "entities-refused");
  await page.getByLabel("Domains").fill("acme.example");
  await page.getByRole("button", { name: "Save entities" }).click();
  await page.waitForURL(/\/entities\?saved=created$/);
  await assertVisible(page.locator("#snapshot-table tr.is-current .badge", { hasText: "Current" }));
  await shot(page, "entities-saved");

  step("runs after the entities: the dashboard shows rates with their 95 % intervals");
  await page.goto(templateUrl);
  for (const country of ["US", "CH", "US"]) {
    await page.getByLabel("Country").selectOption(country);
    await page.getByRole("button", { name: "Run template" }).click();
    await page.waitForURL(/\?ran=/);
  }
  const dashboardUrl = `${BASE}/brands/${brandId}/visibility`;
  await page.goto(dashboardUrl);
  const usCell = page.locator('#rates table[data-model="gpt-4o"] tr[data-entity="Acme Coffee"] td[data-country="US"]');
  assert.match((await usCell.textContent()).trim(), /^\d+ % \(\d+–\d+\), n = 2$/);
  assert.match((await page.locator('#rates tr[data-entity="Acme Coffee"] td[data-country="CH"]').textContent()).trim(), /, n = 1$/);
  await assertVisible(page.locator("#trend .chart-wide svg.trend-svg circle.point").first());
  assert.equal(await page.locator("#share-table tbody tr").count(), COMPETITORS.length + 1);
  await shot(page, "visibility-dashboard");

  step("re-analyse: the job's progress until it succeeded; the earlier runs count too");
  await page.getByRole("button", { name: "Re-analyse" }).click();
  await page.waitForURL(/\/visibility\?job=/);
  await page.locator('#job-status[data-status="succeeded"]').waitFor({ state: "visible", timeout: 30000 });
  const reanalysed = (await usCell.textContent()).trim();
  const n = Number(reanalysed.match(/n = (\d+)$/)[1]);
  assert.ok(n > 2, `runs recorded before the entities count after re-analysis: ${reanalysed}`);
  await shot(page, "visibility-reanalysed");

  step("a result's answer marks the mentions");
  await page.goto(templateUrl);
  await page.locator("#results tbody tr a").first().click();
  await page.waitForURL(/\/results\//);
  assert.ok((await page.locator("#answer-marked mark.mention").count()) >= 2, "the fake names 2–4 brands");
  await assertVisible(page.locator("#mentions-table"));
  await shot(page, "result-mentions");

  step("templates list");
  await page.goto(`${BASE}/brands/${brandId}/templates`);
  await assertVisible(page.getByRole("link", { name: "Brand perception" }));
  await shot(page, "templates-list");

  step("375 px wide");
  const phone = await newPage({ width: 375, height: 812 });
  const narrow = [
    [templateUrl, "mobile-375-template"],
    [`${BASE}/brands/${brandId}/templates/new`, "mobile-375-new-template"],
    [`${BASE}/brands/${brandId}/templates`, "mobile-375-templates"],
    [`${BASE}/`, "mobile-375-brands"],
    [batchUrl, "mobile-375-batch"],
    [`${BASE}/brands/${brandId}/schedules`, "mobile-375-schedules"],
    [dashboardUrl, "mobile-375-visibility"],
    [`${BASE}/brands/${brandId}/entities`, "mobile-375-entities"],
  ];
  const overflows = [];
  for (const [url, name] of narrow) {
    await phone.goto(url);
    await shot(phone, name);
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 0) overflows.push(`${name}: ${overflow}px`);
  }
  await phone.locator("details.picker summary").click();
  await shot(phone, "mobile-375-brand-picker", false);
  assert.deepEqual(overflows, [], "no horizontal scrolling at 375 px");

  step("dark color scheme");
  const dark = await newPage({ width: 1280, height: 900 }, "dark");
  await dark.goto(templateUrl);
  await shot(dark, "dark-template");

  fs.writeFileSync(STATE, JSON.stringify({ templateUrl, versionKey }));
}

async function drift() {
  const { templateUrl, versionKey } = JSON.parse(fs.readFileSync(STATE, "utf8"));
  const page = await newPage({ width: 1280, height: 900 });
  step("the provider ships a new build: run again");
  await page.goto(templateUrl);
  await page.getByLabel("Country").selectOption("US");
  await page.getByRole("button", { name: "Run template" }).click();
  await page.waitForURL(/\?ran=/);
  const newKey = (await page.locator("#run-result .badge-version .mono").textContent()).trim();
  assert.notEqual(newKey, versionKey, "the new build answers with a new version key");
  step(`drift ${versionKey} → ${newKey} on the timeline and in the chart`);
  const drifted = page.locator("#versions .tl-item.is-drift");
  await assertVisible(drifted.locator(".tl-key", { hasText: newKey }));
  await assertVisible(drifted.getByText(`Drift from ${versionKey}`));
  assert.equal(await page.locator("#activity .legend li").count(), 2);
  assert.equal(await page.locator("#activity .chart-wide svg g.drift").count(), 1);
  await shot(page, "drift-timeline-and-chart");
  await page.locator("#activity").screenshot({ path: path.join(SHOTS, `${phase}-chart-closeup.png`) });

  step("the visibility trend marks the drift too");
  await page.goto(templateUrl.replace(/\/templates\/[0-9a-f-]{36}$/, "/visibility"));
  assert.equal(await page.locator("#trend .chart-wide svg g.drift").count(), 1);
  await page.locator("#trend").screenshot({ path: path.join(SHOTS, `${phase}-visibility-trend.png`) });
}

async function signIn(page, token) {
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function auth() {
  const { templateUrl } = JSON.parse(fs.readFileSync(STATE, "utf8"));
  const writer = process.env.PROMPTER_E2E_WRITER_TOKEN;
  const reader = process.env.PROMPTER_E2E_READER_TOKEN;
  assert.ok(writer && reader, "PROMPTER_E2E_WRITER_TOKEN and PROMPTER_E2E_READER_TOKEN are set");
  const page = await newPage({ width: 1280, height: 900 });

  step("tokens required: a template's address leads to the sign-in page");
  await page.goto(templateUrl);
  await page.waitForURL(/\/sign-in\?next=/);
  await assertVisible(page.getByRole("heading", { name: "Sign in", level: 1 }));
  await shot(page, "sign-in");

  step("a wrong token is refused with a message");
  await signIn(page, "pt_this_is_not_a_token");
  await assertVisible(page.locator("#sign-in-error"));
  assert.equal(await page.getByLabel("API token").getAttribute("aria-invalid"), "true");
  await shot(page, "sign-in-refused");

  step("the writer signs in and lands where they were going");
  await signIn(page, writer);
  await page.waitForURL(templateUrl);
  await assertVisible(page.locator(".viewer-name", { hasText: "E2E writer" }));
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "prompter_session");
  assert.ok(session, "the session cookie is set");
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, "Strict");
  assert.ok(!(await page.evaluate(() => document.cookie)).includes("prompter_session"), "scripts cannot read it");
  await shot(page, "signed-in-template");

  step("a link from another site opens the page signed in (the Strict cookie is withheld once)");
  let sawBounce = false;
  const seen = [];
  const onResponse = (r) => {
    if (r.url() !== templateUrl) return;
    seen.push(
      r.request().allHeaders().then((h) => {
        const cookie = (h["cookie"] || "").includes("prompter_session");
        console.log(`  ${h["sec-fetch-site"]} request ${cookie ? "with" : "without"} the session cookie → ${r.status()}`);
        if (h["sec-fetch-site"] === "cross-site" && !cookie) sawBounce = true;
      }),
    );
  };
  page.on("response", onResponse);
  await page.goto(`data:text/html,<a id="ext" href="${templateUrl}">Prompter link in a chat</a>`);
  await page.click("#ext");
  await page.waitForURL(templateUrl);
  await assertVisible(page.locator(".viewer-name", { hasText: "E2E writer" }));
  page.off("response", onResponse);
  await Promise.all(seen);
  assert.ok(sawBounce, "the first request came cross-site");

  step("signed in, the live duplicate check still warns before submitting");
  const brandUrl = templateUrl.replace(/\/templates\/[0-9a-f-]{36}$/, "/templates");
  await page.goto(`${brandUrl}/new`);
  await fillTemplate(page, "Same again, signed in");
  await assertVisible(page.locator("#dup-warning"));
  assert.equal(new URL(await page.locator("#dup-link").getAttribute("href"), BASE).href, templateUrl);

  step("sign out: the pages ask for a token again");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/sign-in$/);
  await page.goto(`${BASE}/`);
  await page.waitForURL(/\/sign-in$/);
  assert.equal((await page.context().cookies()).some((c) => c.name === "prompter_session"), false);

  step("a reader sees the template and its results, and no way to change or run it");
  await signIn(page, reader);
  await page.waitForURL(`${BASE}/`);
  await page.goto(templateUrl);
  await assertVisible(page.locator("#run-read-only"));
  assert.equal(await page.getByRole("button", { name: "Run template" }).count(), 0);
  assert.equal(await page.getByRole("button", { name: "Delete" }).count(), 0);
  assert.equal(await page.getByRole("link", { name: /New/ }).count(), 0);
  await assertVisible(page.locator("#results tbody tr").first());
  await shot(page, "reader-template");
  const phone = await newPage({ width: 375, height: 812 });
  await phone.goto(`${BASE}/sign-in`);
  await shot(phone, "mobile-375-sign-in");
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.equal(overflow, 0, "no horizontal scrolling at 375 px");
}

async function assertVisible(locator) {
  await locator.waitFor({ state: "visible" });
}

let failed = false;
try {
  if (phase === "main") await main();
  else if (phase === "drift") await drift();
  else if (phase === "auth") await auth();
  else throw new Error(`unknown phase ${phase}`);
  if (problems.length) throw new Error(`browser reported problems:\n${problems.join("\n")}`);
  console.log(`e2e ${phase}: passed`);
} catch (e) {
  failed = true;
  console.error(`e2e ${phase}: FAILED: ${e.stack || e}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
