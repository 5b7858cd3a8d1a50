// Prompter web UI: small progressive enhancements. Every page works without this script.
(function () {
  "use strict";

  // Times: the server writes UTC; show the viewer's local time, keep UTC in the tooltip.
  function localTimes(root) {
    var fmt;
    try {
      fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    } catch (e) {
      return;
    }
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d.getTime())) {
        el.textContent = fmt.format(d);
      }
    });
  }

  // Forms that destroy something ask first.
  function confirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        if (!window.confirm(form.getAttribute("data-confirm"))) {
          ev.preventDefault();
        }
      });
    });
  }

  // Slow forms (a run calls the model) show that they are working.
  function busyForms() {
    document.querySelectorAll("form[data-busy]").forEach(function (form) {
      form.addEventListener("submit", function () {
        var btn = form.querySelector("button[type=submit]");
        if (btn) {
          btn.setAttribute("aria-busy", "true");
          btn.textContent = form.getAttribute("data-busy");
          setTimeout(function () { btn.disabled = true; }, 0);
        }
      });
    });
  }

  // The brand picker (a <details>): Escape and outside clicks close it.
  function menus() {
    var menus = document.querySelectorAll("details[data-menu]");
    document.addEventListener("keydown", function (ev) {
      if (ev.key !== "Escape") return;
      menus.forEach(function (m) {
        if (m.open) {
          m.open = false;
          m.querySelector("summary").focus();
        }
      });
    });
    document.addEventListener("click", function (ev) {
      menus.forEach(function (m) {
        if (m.open && !m.contains(ev.target)) m.open = false;
      });
    });
  }

  function debounce(fn, ms) {
    var t;
    return function () {
      clearTimeout(t);
      t = setTimeout(fn, ms);
    };
  }

  // The create request exactly as the server builds it from this form (crates/ui/src/form.rs,
  // TemplateForm::to_body), as JSON text. JSON fields are inserted as typed, so numbers keep
  // their spelling (1.0 and 1 hash differently). Returns null when the check cannot run yet.
  function buildBody(form) {
    var v = function (name) {
      var el = form.elements[name];
      return el ? el.value : "";
    };
    var parts = [
      '"org_id":' + JSON.stringify(form.getAttribute("data-org")),
      '"workspace_id":' + JSON.stringify(form.getAttribute("data-workspace")),
    ];
    if (v("user_prompt_template") === "" || v("model_id").trim() === "") return null;
    // The name is not part of identity; check-duplicate does not need it.
    if (v("name").trim() !== "") parts.push('"name":' + JSON.stringify(v("name")));
    ["user_prompt_template", "model_id"].forEach(function (k) {
      parts.push(JSON.stringify(k) + ":" + JSON.stringify(v(k)));
    });
    if (v("system_instructions").trim() !== "") {
      parts.push('"system_instructions":' + JSON.stringify(v("system_instructions")));
    }
    ["provider", "grounding_profile_id", "grounding_snapshot_id"].forEach(function (k) {
      if (v(k).trim() !== "") parts.push(JSON.stringify(k) + ":" + JSON.stringify(v(k).trim()));
    });
    var countries = v("country_set")
      .split(/[,;\n]/)
      .map(function (c) { return c.trim(); })
      .filter(function (c) { return c !== ""; });
    if (countries.length) parts.push('"country_set":' + JSON.stringify(countries));
    var fields = ["inference_params", "tools_spec", "response_format", "retrieval_params"];
    for (var i = 0; i < fields.length; i++) {
      var raw = v(fields[i]).trim();
      if (raw === "") continue;
      try {
        JSON.parse(raw);
      } catch (e) {
        return null;
      }
      parts.push(JSON.stringify(fields[i]) + ":" + raw);
    }
    return "{" + parts.join(",") + "}";
  }

  // While the user types, ask the API whether this configuration already exists in the brand.
  function duplicateCheck() {
    var form = document.getElementById("template-form");
    var box = document.getElementById("dup-warning");
    if (!form || !box || !window.fetch) return;
    var link = document.getElementById("dup-link");
    var status = document.getElementById("dup-status");
    var seq = 0;
    var controller = null;

    function setStatus(state, text) {
      status.setAttribute("data-state", state);
      status.textContent = text;
      status.hidden = state === "duplicate";
    }

    var nearBox = document.getElementById("near-warning");
    var nearList = document.getElementById("near-list");

    // "inference_params.temperature" -> "temperature": what a person calls the field.
    function fieldLabel(path) {
      var names = {
        country_set: "countries",
        user_prompt_template: "prompt wording",
        system_instructions: "system instructions",
        tools_spec: "tools",
        grounding_profile_id: "grounding profile",
        grounding_snapshot_id: "grounding snapshot",
        response_format: "response format",
        inference_params: "inference parameters",
        retrieval_params: "retrieval parameters",
      };
      if (names[path]) return names[path];
      var dot = path.indexOf(".");
      if (dot < 0) return path.replace(/_/g, " ");
      var head = path.slice(0, dot);
      var tail = path.slice(dot + 1).replace(/_/g, " ");
      return head === "inference_params" ? tail : names[head] + " " + tail;
    }

    function showNear(matches) {
      if (!nearBox) return;
      while (nearList.firstChild) nearList.removeChild(nearList.firstChild);
      (matches || []).forEach(function (m) {
        var li = document.createElement("li");
        li.appendChild(document.createTextNode("differs from «"));
        var a = document.createElement("a");
        a.href = form.getAttribute("data-template-base") + m.template_id;
        a.textContent = m.name || "an existing template";
        li.appendChild(a);
        li.appendChild(document.createTextNode("» only in " + m.differing_fields.map(fieldLabel).join(" and ")));
        nearList.appendChild(li);
      });
      nearBox.hidden = !(matches && matches.length);
    }

    function show(match) {
      if (match) {
        link.textContent = match.template_name || "an existing template";
        link.href = form.getAttribute("data-template-base") + match.template_id;
        box.hidden = false;
        setStatus("duplicate", "");
      } else {
        box.hidden = true;
      }
    }

    var check = debounce(function () {
      var body = buildBody(form);
      var mine = ++seq;
      if (controller) controller.abort();
      if (body === null) {
        show(null);
        showNear(null);
        setStatus("idle", "Fill in the model and the prompt (and valid JSON) to check.");
        return;
      }
      setStatus("checking", "Checking…");
      controller = window.AbortController ? new AbortController() : null;
      fetch(form.getAttribute("data-check-url"), {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRF-Token": form.getAttribute("data-csrf"),
        },
        body: body,
        credentials: "same-origin",
        signal: controller ? controller.signal : undefined,
      })
        .then(function (r) {
          return r.ok ? r.json() : null;
        })
        .then(function (data) {
          if (mine !== seq) return;
          showNear(data && !data.exact_match ? data.near_matches : null);
          if (data && data.exact_match) {
            show(data);
          } else if (data) {
            show(null);
            setStatus("unique", "Unique: " + form.getAttribute("data-brand-name") + " has no identical configuration.");
          } else {
            show(null);
            setStatus("idle", "Checked when you create the template.");
          }
        })
        .catch(function () { /* offline or aborted: the server checks on submit anyway */ });
    }, 300);

    form.addEventListener("input", check);
    form.addEventListener("change", check);
    // A duplicate rendered by the server (409) stays until the configuration changes.
    if (box.hidden) check();
  }

  // JSON fields say what is wrong while typing; the server checks again on submit.
  function jsonFields() {
    document.querySelectorAll("textarea[data-json]").forEach(function (ta) {
      var msg = document.createElement("p");
      msg.className = "field-error js-json-error";
      msg.id = ta.id + "-live-error";
      msg.hidden = true;
      ta.insertAdjacentElement("afterend", msg);
      var validate = debounce(function () {
        var raw = ta.value.trim();
        var problem = "";
        if (raw !== "") {
          try {
            var val = JSON.parse(raw);
            var want = ta.getAttribute("data-json");
            if (want === "array" && !Array.isArray(val)) problem = "must be a JSON array";
            if (want === "object" && (val === null || typeof val !== "object" || Array.isArray(val))) {
              problem = "must be a JSON object";
            }
          } catch (e) {
            problem = "is not valid JSON: " + e.message;
          }
        }
        var server = document.getElementById(ta.id + "-error");
        if (server) server.hidden = true;
        msg.textContent = problem ? ta.name + " " + problem : "";
        msg.hidden = !problem;
        ta.setAttribute("aria-invalid", problem ? "true" : "false");
        var describedBy = ta.id + "-hint" + (problem ? " " + msg.id : "");
        ta.setAttribute("aria-describedby", describedBy);
      }, 400);
      ta.addEventListener("input", validate);
    });
  }

  function focusFirst() {
    var target = document.getElementById("error-summary");
    if (!target && location.hash === "#run-result") target = document.getElementById("run-result");
    if (!target) target = document.querySelector(".alert-error[role=alert]");
    if (target && typeof target.focus === "function") target.focus();
  }

  function init() {
    localTimes(document);
    confirmations();
    busyForms();
    menus();
    duplicateCheck();
    jsonFields();
    focusFirst();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
