// tagManager's page inside Stash: plain JavaScript on Stash's own PluginApi (its React,
// Bootstrap, Apollo client and TagSelect). No build step. The rules live in the Python
// operations (plugin_operations.py); this page shows their answers and calls them.
(function () {
  "use strict";

  var api = window.PluginApi;
  var logic = window.TagManagerLogic;
  if (!api || !logic) return;

  var React = api.React;
  var h = React.createElement;
  var useState = React.useState, useEffect = React.useEffect, useRef = React.useRef, useCallback = React.useCallback;
  var B = api.libraries.Bootstrap;
  var Router = api.libraries.ReactRouterDOM;
  var gql = api.libraries.Apollo.gql;
  var solid = api.libraries.FontAwesomeSolid;

  var PLUGIN_ID = "tagManager";
  var ROUTE = "/tag-manager";
  var SYNC_TASK = "Sync Scene Tags from StashDB";
  var FULL_REPORT_TASK = "Sync Scene Tags from StashDB (full dry run report)";
  var JOB_POLL_MS = 700;

  var RUN_OPERATION = gql("mutation TagManagerOperation($plugin_id: ID!, $args: Map) { runPluginOperation(plugin_id: $plugin_id, args: $args) }");
  var RUN_TASK = gql("mutation TagManagerTask($plugin_id: ID!, $task_name: String!, $args_map: Map) { runPluginTask(plugin_id: $plugin_id, task_name: $task_name, args_map: $args_map) }");
  var FIND_JOB = gql("query TagManagerJob($input: FindJobInput!) { findJob(input: $input) { id status progress description error } }");
  var PLUGIN_SETTINGS = gql("query TagManagerSettings { configuration { plugins } }");
  var CONFIGURE_PLUGIN = gql("mutation TagManagerConfigure($plugin_id: ID!, $input: Map!) { configurePlugin(plugin_id: $plugin_id, input: $input) }");

  // -- talking to Stash (its own Apollo client; every value is a variable) --------------

  function client() { return api.utils.StashService.getClient(); }

  function errorText(error) {
    if (!error) return "";
    if (error.graphQLErrors && error.graphQLErrors.length) {
      return error.graphQLErrors.map(function (e) { return e.message; }).join("; ");
    }
    return error.message || String(error);
  }

  function operation(args) {
    return client().mutate({ mutation: RUN_OPERATION, variables: { plugin_id: PLUGIN_ID, args: args } })
      .then(function (answer) { return answer.data.runPluginOperation; });
  }

  function startTask(taskName, argsMap) {
    return client().mutate({ mutation: RUN_TASK, variables: { plugin_id: PLUGIN_ID, task_name: taskName, args_map: argsMap || null } })
      .then(function (answer) { return String(answer.data.runPluginTask); });
  }

  function findJob(id) {
    return client().query({ query: FIND_JOB, variables: { input: { id: id } }, fetchPolicy: "network-only" })
      .then(function (answer) { return answer.data.findJob; });
  }

  function readSettings() {
    return client().query({ query: PLUGIN_SETTINGS, fetchPolicy: "network-only" })
      .then(function (answer) { return ((answer.data.configuration.plugins || {})[PLUGIN_ID]) || {}; });
  }

  // configurePlugin replaces the whole map: read it fresh, change one key, write it all.
  function writeSetting(name, value) {
    return readSettings().then(function (current) {
      return client().mutate({ mutation: CONFIGURE_PLUGIN, variables: { plugin_id: PLUGIN_ID, input: logic.withSetting(current, name, value) } });
    }).then(function (answer) { return answer.data.configurePlugin || {}; });
  }

  // -- small pieces ----------------------------------------------------------------------

  function FaIcon(props) {
    var def = props.icon && props.icon.icon;
    if (!def) return null;
    return h("svg", { className: "svg-inline--fa fa-icon " + (props.className || ""), viewBox: "0 0 " + def[0] + " " + def[1], "aria-hidden": "true" },
      h("path", { fill: "currentColor", d: def[4] }));
  }

  function Section(props) {
    // Stash's theme pads a .card itself: a heading and the content, no Card.Header/Body.
    return h(B.Card, { className: "tag-manager-section mb-3", id: props.id },
      h("h2", { className: "h5 mb-3" }, props.title), props.children);
  }

  // -- 1. the mode -------------------------------------------------------------------------

  function ModePanel(props) {
    var mode = logic.explainMode(props.settings);
    return h(Section, { title: "Mode", id: "tm-mode" },
      h("div", { className: "d-flex flex-wrap align-items-center" },
        h(B.Badge, { variant: mode.dryRun ? "info" : "warning", className: "tm-mode-badge mr-3", "data-testid": "mode-label" }, mode.label),
        h(B.Form.Check, {
          type: "switch", id: "tm-live-switch", label: "Write tags (live)", checked: !mode.dryRun,
          disabled: props.busy || !props.settings, onChange: function (event) { props.onChange(!event.target.checked); }
        })),
      h("p", { className: "text-muted mb-0 mt-2", "data-testid": "mode-reason" }, mode.reason));
  }

  // -- 2. running the sync --------------------------------------------------------------

  function JobStatus(props) {
    if (!props.job) return null;
    var state = logic.jobState(props.job.status);
    return h("div", { className: "tm-job mt-3", role: "status", "aria-live": "polite", "data-testid": "job-status" },
      h("div", null, props.job.title + ": " + state.text),
      state.done ? null : h(B.ProgressBar, {
        className: "mt-2", animated: state.percent === null, now: state.percent === null ? 100 : state.percent,
        label: state.percent === null ? "" : state.percent + "%"
      }));
  }

  function RunPanel(props) {
    var mode = logic.explainMode(props.settings);
    return h(Section, { title: "Run", id: "tm-run" },
      h("div", { className: "tm-buttons" },
        h(B.Button, { variant: mode.dryRun ? "secondary" : "danger", disabled: props.busy, onClick: function () { props.onRun("sync"); } },
          mode.dryRun ? "Dry run (first 200 scenes)" : "Live run (writes tags)"),
        h(B.Button, { variant: "secondary", disabled: props.busy, onClick: function () { props.onRun("full"); } }, "Full dry-run report")),
      h("p", { className: "text-muted small mt-2 mb-0" },
        "The full dry-run report previews every scene and writes nothing, whatever the mode; it asks StashDB as much as a live run does."),
      h(JobStatus, { job: props.job }));
  }

  // -- 3. the last run -------------------------------------------------------------------

  function LastRunPanel(props) {
    var listing = props.listing;
    if (!listing) return null;
    var rows = logic.summaryRows(listing.summary);
    return h(Section, { title: "Last full run", id: "tm-last-run" },
      h("p", { className: "mb-2" },
        (listing.dry_run ? "Dry run" : "Live run") + " against " + (listing.endpoint || "?") +
        (listing.finished_at ? ", finished " + new Date(listing.finished_at).toLocaleString() : ", not finished") + "."),
      h("dl", { className: "tm-summary mb-0", "data-testid": "last-run" }, rows.map(function (row) {
        return h(React.Fragment, { key: row.label }, h("dt", null, row.label), h("dd", null, String(row.value)));
      })));
  }

  // -- 4. unmatched tags ---------------------------------------------------------------

  function TagPicker(props) {
    var TagSelect = api.components.TagSelect;
    if (!TagSelect) return null;
    return h("div", { className: "tm-picker", "aria-label": "Link " + props.tagName + " to a local tag" },
      h(TagSelect, {
        isMulti: false, creatable: false, values: [], noSelectionString: "Link to another local tag…",
        menuPortalTarget: document.body,
        onSelect: function (items) { if (items && items.length) props.onPick(items[0]); }
      }));
  }

  function TagRow(props) {
    var tag = props.tag, state = props.state, busy = props.busy;
    var url = logic.stashBoxTagUrl(props.endpoint, tag.stashdb_id);
    var open = !state || state.kind === "failed";
    return h("tr", { className: state && !open ? "tm-resolved" : "", "data-stashdb-id": tag.stashdb_id, "data-testid": "tag-row" },
      h("td", { className: "tm-select" },
        h(B.Form.Check, { type: "checkbox", id: "tm-select-" + tag.stashdb_id, checked: !!props.selected, disabled: !open,
          "aria-label": "Select " + tag.name, onChange: function () { props.onToggle(tag.stashdb_id); } })),
      h("td", { className: "tm-name" },
        url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, tag.name) : tag.name,
        tag.category ? h("div", { className: "text-muted small" }, tag.category) : null,
        tag.description ? h("div", { className: "small tm-description" }, tag.description) : null,
        tag.aliases && tag.aliases.length ? h("div", { className: "small text-muted" }, "Aliases: " + tag.aliases.join(", ")) : null),
      h("td", { className: "tm-count", "data-label": "Scenes" }, String(tag.scenes)),
      h("td", { className: "tm-actions" },
        state ? h("div", { className: "tm-state " + (state.kind === "failed" ? "text-danger" : "text-success"), "data-testid": "row-state" },
          logic.describeState(state) + (props.synced && !open ? " — scenes synced" : "")) : null,
        open ? h("div", null,
          (tag.suggestions || []).map(function (suggestion) {
            return h("div", { className: "tm-suggestion", key: suggestion.tag_id },
              h(B.Button, { size: "sm", variant: "primary", disabled: busy,
                onClick: function () { props.onLink(tag, { id: suggestion.tag_id, name: suggestion.name }); } },
                "Link to " + suggestion.name),
              h("span", { className: "small text-muted ml-2" }, suggestion.reason));
          }),
          h(TagPicker, { tagName: tag.name, onPick: function (local) { props.onLink(tag, local); } }),
          h("div", { className: "tm-buttons mt-1" },
            h(B.Button, { size: "sm", variant: "success", disabled: busy, onClick: function () { props.onCreate([tag.stashdb_id]); } }, "Create"),
            h(B.Button, { size: "sm", variant: "outline-danger", disabled: busy, onClick: function () { props.onExclude(tag); } }, "Exclude"))) : null));
  }

  function TagsPanel(props) {
    var listing = props.listing;
    var tags = listing ? logic.sortTags(listing.tags || []) : [];
    var filter = props.filter;
    var shown = logic.filterTags(tags, filter);
    var page = logic.pageOf(shown, props.page);
    var selectedIds = logic.selectedOpenIds(props.selection, tags, props.resolved);
    var categories = logic.categoriesOf(tags);
    var body;
    if (props.error) {
      body = h(B.Alert, { variant: "warning", className: "mb-0" }, props.error);
    } else if (!listing) {
      body = h("div", null, "Loading…");
    } else if (!tags.length) {
      body = h("p", { className: "mb-0" }, "No unmatched StashDB tags in the last full run.");
    } else {
      body = h("div", null,
        h("div", { className: "tm-filters" },
          h(B.Form.Control, { type: "search", placeholder: "Filter by name or alias", "aria-label": "Filter by name or alias",
            value: filter.text, onChange: function (e) { props.onFilter({ text: e.target.value, category: filter.category }); } }),
          h(B.Form.Control, { as: "select", "aria-label": "Category", value: filter.category === null ? "*" : filter.category,
            onChange: function (e) { props.onFilter({ text: filter.text, category: e.target.value === "*" ? null : e.target.value }); } },
            h("option", { value: "*" }, "Every category"),
            categories.map(function (c) { return h("option", { key: c, value: c }, c || "(no category)"); })),
          h(B.Button, { variant: "success", disabled: props.busy || !selectedIds.length, onClick: function () { props.onCreate(selectedIds); } },
            "Create selected (" + selectedIds.length + ")")),
        h("p", { className: "text-muted small" }, "Exclude adds a pattern to Stash's own exclude tag patterns " +
          "(Settings → Metadata Providers → Scraping): Identify and the Tagger skip that tag too."),
        h("div", { className: "table-responsive" },
          h(B.Table, { className: "tm-table", size: "sm", striped: true, variant: "dark" },
            h("thead", null, h("tr", null,
              h("th", null, h(B.Form.Check, { type: "checkbox", id: "tm-select-page", "aria-label": "Select this page",
                checked: page.items.length > 0 && page.items.every(function (t) { return props.selection[t.stashdb_id]; }),
                onChange: function () { props.onToggleAll(page.items); } })),
              h("th", null, "StashDB tag"), h("th", { className: "text-right" }, "Scenes"), h("th", null, "Resolve"))),
            h("tbody", null, page.items.map(function (tag) {
              return h(TagRow, { key: tag.stashdb_id, tag: tag, endpoint: listing.endpoint, state: props.resolved[tag.stashdb_id],
                selected: props.selection[tag.stashdb_id], busy: props.busy, synced: props.synced, onToggle: props.onToggle,
                onLink: props.onLink, onCreate: props.onCreate, onExclude: props.onExclude });
            })))),
        h("div", { className: "tm-pager" },
          h("span", { className: "text-muted" }, page.first + "–" + page.last + " of " + shown.length + (shown.length !== tags.length ? " (of " + tags.length + ")" : "")),
          page.pages > 1 ? h(B.ButtonGroup, null,
            h(B.Button, { size: "sm", variant: "secondary", disabled: page.page === 0, onClick: function () { props.onPage(page.page - 1); } }, "Previous"),
            h(B.Button, { size: "sm", variant: "secondary", disabled: page.page >= page.pages - 1, onClick: function () { props.onPage(page.page + 1); } }, "Next")) : null));
    }
    return h(Section, { title: "Unmatched StashDB tags" + (listing && listing.tags ? " (" + listing.tags.length + ")" : ""), id: "tm-tags" }, body);
  }

  // -- 5. syncing the affected scenes ---------------------------------------------------

  function AffectedPanel(props) {
    var count = props.sceneIds.length;
    var mode = logic.explainMode(props.settings);
    return h(Section, { title: "Sync the affected scenes", id: "tm-affected" },
      h("p", null, count ? count + " scene" + (count === 1 ? "" : "s") + " carry the tags resolved here." :
        "Link, create or exclude tags above; their scenes are then listed here."),
      mode.dryRun && count ? h("p", { className: "text-warning" }, "The mode is Dry run: this run writes nothing. Switch to Live above to write the tags.") : null,
      h("div", { className: "tm-buttons" }, h(B.Button, { variant: mode.dryRun ? "secondary" : "danger", disabled: props.busy || !count, onClick: props.onSync },
        "Sync the affected scenes" + (mode.dryRun ? " (dry run)" : ""))),
      props.outcome ? h(B.Alert, { variant: props.outcome.ok ? "success" : "danger", className: "mt-3 mb-0", "data-testid": "sync-outcome" }, props.outcome.text) : null);
  }

  // -- the page ------------------------------------------------------------------------

  function ExcludeDialog(props) {
    if (!props.tag) return null;
    return h(B.Modal, { show: true, onHide: props.onCancel },
      h(B.Modal.Header, { closeButton: true }, h(B.Modal.Title, null, "Exclude " + props.tag.name + "?")),
      h(B.Modal.Body, null, "This adds a pattern matching exactly this name to Stash's exclude tag patterns. " +
        "They are global: Identify and the scene Tagger will skip this tag too. You can remove it under " +
        "Settings → Metadata Providers → Scraping."),
      h(B.Modal.Footer, null,
        h(B.Button, { variant: "secondary", onClick: props.onCancel }, "Cancel"),
        h(B.Button, { variant: "danger", autoFocus: true, onClick: props.onConfirm }, "Exclude")));
  }

  function TagManagerPage() {
    var Toast = api.hooks.useToast();
    var loadingComponents = api.hooks.useLoadComponents([api.loadableComponents.Tags]);
    var _s = useState(null), settings = _s[0], setSettings = _s[1];
    var _l = useState(null), listing = _l[0], setListing = _l[1];
    var _le = useState(""), listingError = _le[0], setListingError = _le[1];
    var _j = useState(null), job = _j[0], setJob = _j[1];
    var _r = useState({}), resolved = _r[0], setResolved = _r[1];
    var _sel = useState({}), selection = _sel[0], setSelection = _sel[1];
    var _f = useState({ text: "", category: null }), filter = _f[0], setFilter = _f[1];
    var _p = useState(0), page = _p[0], setPage = _p[1];
    var _b = useState(false), busy = _b[0], setBusy = _b[1];
    var _ex = useState(null), excluding = _ex[0], setExcluding = _ex[1];
    var _o = useState(null), outcome = _o[0], setOutcome = _o[1];
    var _sy = useState(false), synced = _sy[0], setSynced = _sy[1];
    var _all = useState([]), allTags = _all[0], setAllTags = _all[1];
    var mounted = useRef(true);

    useEffect(function () { return function () { mounted.current = false; }; }, []);

    function fail(error) {
      Toast.error(new Error(errorText(error)));
    }

    var loadListing = useCallback(function () {
      return operation({ mode: "unmatched_tags" }).then(function (answer) {
        if (!mounted.current) return;
        setListing(answer); setListingError("");
        // keep every tag seen, so resolved rows (which the operation no longer lists) stay shown
        setAllTags(function (previous) {
          var known = {};
          previous.forEach(function (t) { known[t.stashdb_id] = t; });
          (answer.tags || []).forEach(function (t) { known[t.stashdb_id] = t; });
          return Object.keys(known).map(function (id) { return known[id]; });
        });
      }, function (error) {
        if (mounted.current) { setListing(null); setListingError(errorText(error)); }
      });
    }, []);

    useEffect(function () {
      readSettings().then(function (s) { if (mounted.current) setSettings(s); }, fail);
      loadListing();
    }, []);

    function watch(jobId, title, then) {
      setJob({ id: jobId, title: title, status: { status: "READY" } });
      function poll() {
        findJob(jobId).then(function (found) {
          if (!mounted.current) return;
          var state = logic.jobState(found);
          setJob({ id: jobId, title: title, status: found || { status: "FINISHED" } });
          if (state.done) { setBusy(false); then(state); } else { setTimeout(poll, JOB_POLL_MS); }
        }, function (error) { setBusy(false); fail(error); });
      }
      setTimeout(poll, JOB_POLL_MS);
    }

    function run(kind) {
      setBusy(true);
      var task = kind === "full" ? FULL_REPORT_TASK : SYNC_TASK;
      var title = kind === "full" ? "Full dry-run report" : (logic.explainMode(settings).dryRun ? "Dry run" : "Live run");
      startTask(task, null).then(function (id) {
        watch(id, title, function (state) {
          if (state.ok) { setResolved({}); setSelection({}); setSynced(false); setOutcome(null); setAllTags([]); }
          loadListing();
        });
      }, function (error) { setBusy(false); fail(error); });
    }

    function setDryRun(dryRun) {
      setBusy(true);
      writeSetting("syncDryRun", dryRun).then(function (stored) {
        setSettings(stored); setBusy(false);  // the mode panel shows the change; no toast over the page
      }, function (error) { setBusy(false); fail(error); });
    }

    function markResolved(states) {
      setResolved(function (previous) { return Object.assign({}, previous, states); });
      setSelection(function (previous) {
        var next = Object.assign({}, previous);
        Object.keys(states).forEach(function (id) { delete next[id]; });
        return next;
      });
      setSynced(false); setOutcome(null);
    }

    function link(tag, local) {
      setBusy(true);
      operation({ mode: "link_tag", stashdb_id: tag.stashdb_id, tag_id: String(local.id) }).then(function (answer) {
        var states = {}; states[tag.stashdb_id] = { kind: "linked", tagName: answer.tag_name || local.name, tagId: answer.tag_id };
        markResolved(states); setBusy(false);
      }, function (error) { setBusy(false); fail(error); });
    }

    function create(ids) {
      if (!ids.length) return;
      setBusy(true);
      operation({ mode: "create_tags", stashdb_ids: ids }).then(function (answer) {
        markResolved(logic.statesFromCreation(answer)); setBusy(false);
        if (answer.skipped || answer.failed) Toast.error(new Error((answer.skipped + answer.failed) + " of " + ids.length + " not created: see the rows"));
      }, function (error) { setBusy(false); fail(error); });
    }

    function exclude() {
      var tag = excluding;
      setExcluding(null); setBusy(true);
      operation({ mode: "exclude_tag", name: tag.name }).then(function (answer) {
        var states = {}; states[tag.stashdb_id] = { kind: "excluded", pattern: answer.pattern };
        markResolved(states); setBusy(false);
      }, function (error) { setBusy(false); fail(error); });
    }

    var sceneIds = logic.affectedSceneIds(allTags, resolved);

    function syncAffected() {
      var dry = logic.explainMode(settings).dryRun;
      setBusy(true); setOutcome(null);
      startTask(SYNC_TASK, { scene_ids: sceneIds.join(",") }).then(function (id) {
        watch(id, "Sync of " + sceneIds.length + " affected scenes", function (state) {
          setSynced(state.ok && !dry);
          setOutcome({ ok: state.ok, text: state.ok ?
            (dry ? "Dry run of the " + sceneIds.length + " affected scenes finished: nothing was written (see Stash's log)." :
              "Synced the " + sceneIds.length + " affected scenes: their resolved tags are on them now.") :
            "The sync " + state.text + "." });
          loadListing();
        });
      }, function (error) { setBusy(false); fail(error); });
    }

    var listingForTable = listing ? Object.assign({}, listing, { tags: mergeShown(listing.tags || [], allTags, resolved) }) : null;

    return h("div", { className: "tag-manager container-lg py-3" },
      h("h1", { className: "h3 mb-3" }, "tagManager"),
      h(ModePanel, { settings: settings, busy: busy, onChange: setDryRun }),
      h(RunPanel, { settings: settings, busy: busy, job: job, onRun: run }),
      h(LastRunPanel, { listing: listing }),
      loadingComponents ? h("div", null, "Loading…") : h(TagsPanel, {
        listing: listingForTable, error: listingError, filter: filter, page: page, selection: selection, resolved: resolved,
        busy: busy, synced: synced,
        onFilter: function (f) { setFilter(f); setPage(0); }, onPage: setPage,
        onToggle: function (id) { setSelection(function (s) { return logic.toggleSelected(s, id); }); },
        onToggleAll: function (rows) { setSelection(function (s) { return logic.toggleAll(s, rows.filter(function (r) { return !resolved[r.stashdb_id]; })); }); },
        onLink: link, onCreate: create, onExclude: setExcluding
      }),
      h(AffectedPanel, { sceneIds: sceneIds, settings: settings, busy: busy, outcome: outcome, onSync: syncAffected }),
      h(RematchPanel, { listing: listing }),
      h(ExcludeDialog, { tag: excluding, onCancel: function () { setExcluding(null); }, onConfirm: exclude }));
  }

  // -- 6. stale and unknown StashIDs of the last run -----------------------------------

  function RematchPanel(props) {
    var rows = logic.rematchRows(props.listing);
    if (!rows.length) return null;
    return h(Section, { title: "Scenes to re-match (" + rows.length + ")", id: "tm-rematch" },
      h("p", { className: "text-muted small" },
        "Their StashID points at a scene StashDB no longer has or never had, so no tags came for them. " +
        "Open each one and re-match it in the Tagger."),
      h("ul", { className: "list-unstyled mb-0", "data-testid": "rematch-scenes" }, rows.map(function (row) {
        return h("li", { key: row.sceneId, className: "mb-1" },
          h(Router.Link, { to: row.href }, row.title),
          h("span", { className: "small text-muted ml-2" }, row.reason + (row.stashId ? " (" + row.stashId + ")" : "")));
      })));
  }

  // The listed tags plus the ones resolved on this page (which a fresh listing leaves out).
  function mergeShown(listed, seen, resolved) {
    var byId = {};
    listed.forEach(function (t) { byId[t.stashdb_id] = t; });
    seen.forEach(function (t) { if (resolved[t.stashdb_id] && !byId[t.stashdb_id]) byId[t.stashdb_id] = t; });
    return Object.keys(byId).map(function (id) { return byId[id]; });
  }

  // -- registering: the route, the main navigation, Settings → Plugins ------------------

  api.register.route(ROUTE, TagManagerPage);

  api.patch.after("MainNavBar.MenuItems", function () {
    var result = arguments[arguments.length - 1];
    var link = h(B.Nav.Link, { as: "div", key: "tag-manager", className: "col-4 col-sm-3 col-md-2 col-lg-auto" },
      h(Router.NavLink, { to: ROUTE, activeClassName: "active", className: "btn minimal p-4 p-xl-2 d-flex d-xl-inline-block flex-column justify-content-between align-items-center tm-nav-link" },
        h(FaIcon, { icon: solid.faTags, className: "nav-menu-icon d-block d-xl-inline mb-2 mb-xl-0" }),
        h("span", null, "Tag Manager")));
    return React.cloneElement(result, {}, result.props.children, link);
  });

  api.patch.after("PluginSettings", function (props) {
    var result = arguments[arguments.length - 1];
    if (!props || props.pluginID !== PLUGIN_ID) return result;
    return h(React.Fragment, null,
      h("div", { className: "setting tm-settings-link" },
        h(Router.Link, { to: ROUTE, className: "btn btn-primary btn-sm" }, "Open the tagManager page")),
      result);
  });
})();
