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
  var REMATCH_TASK = "Re-match scenes from the last sync (no StashDB requests)";
  var REFRESH_TASK = "Refresh scene tags from StashDB (changes since the last sync)";
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

  // -- 1. the mode: run_mode's answer, shown as it is -----------------------------------

  function ModePanel(props) {
    var mode = props.mode;
    var body = props.error ? h(B.Alert, { variant: "warning", className: "mb-0" }, "The mode could not be read: " + props.error) :
      !mode ? h("div", null, "Loading…") :
      h("div", null,
        h("div", { className: "d-flex flex-wrap align-items-center" },
          h(B.Badge, { variant: mode.dry_run ? "info" : "warning", className: "tm-mode-badge mr-3", "data-testid": "mode-label" }, mode.label),
          h(B.Form.Check, {
            type: "switch", id: "tm-live-switch", label: "Write tags (live)", checked: !mode.dry_run,
            disabled: props.busy, onChange: function (event) { props.onChange(!event.target.checked); }
          })),
        h("p", { className: "text-muted mb-0 mt-2", "data-testid": "mode-reason" }, mode.reason));
    return h(Section, { title: "Mode", id: "tm-mode" }, body);
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
    var mode = props.mode;
    var live = mode && mode.dry_run === false;
    var refresh = logic.refreshOffer(props.refreshPlan, mode);
    var refreshButton = h(B.Button, { key: "refresh", variant: refresh.primary ? (live ? "danger" : "primary") : "secondary",
      disabled: props.busy || !mode || !refresh.available, onClick: function () { props.onRun("refresh"); } }, refresh.label);
    var syncButton = h(B.Button, { key: "sync", variant: refresh.primary ? "secondary" : (live ? "danger" : "secondary"),
      disabled: props.busy || !mode, onClick: function () { props.onRun("sync"); } },
      (live ? "Live run (writes tags)" : "Dry run (first 200 scenes)") + (refresh.primary ? ": every scene" : ""));
    return h(Section, { title: "Run", id: "tm-run" },
      h("div", { className: "tm-buttons" },
        refresh.primary ? [refreshButton, syncButton] : [syncButton, refreshButton],
        h(B.Button, { variant: "secondary", disabled: props.busy, onClick: function () { props.onRun("full"); } }, "Full dry-run report")),
      refresh.note ? h("p", { className: "text-muted small mt-2 mb-0", "data-testid": "refresh-note" }, refresh.note) : null,
      h("p", { className: "text-muted small mt-2 mb-0" },
        "The full dry-run report previews every scene and writes nothing, whatever the mode; it asks StashDB as much as a live run does."),
      h(JobStatus, { job: props.job && props.job.where === "run" ? props.job : null }));
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

  // -- 4. unmatched tags: a page at a time, as unmatched_tags answers it -----------------

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
    var open = logic.isOpen(state);
    return h("tr", { className: state && !open ? "tm-resolved" : "", "data-stashdb-id": tag.stashdb_id, "data-testid": "tag-row" },
      h("td", { className: "tm-select" },
        h(B.Form.Check, { type: "checkbox", id: "tm-select-" + tag.stashdb_id, checked: !!props.selected, disabled: !open,
          "aria-label": "Select " + tag.name, onChange: function () { props.onToggle(tag); } })),
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
            h(B.Button, { size: "sm", variant: "success", disabled: busy, onClick: function () { props.onCreate([tag]); } }, "Create"),
            h(B.Button, { size: "sm", variant: "outline-danger", disabled: busy, onClick: function () { props.onExclude(tag); } }, "Exclude"))) : null));
  }

  function TagFilters(props) {
    var listing = props.listing, filter = props.filter;
    var selectedIds = logic.selectedOpenIds(props.selection, props.resolved);
    return h("div", { className: "tm-filters" },
      h(B.Form.Control, { type: "search", placeholder: "Filter by name or alias", "aria-label": "Filter by name or alias",
        value: filter.text, onChange: function (e) { props.onFilter({ text: e.target.value, category: filter.category }); } }),
      h(B.Form.Control, { as: "select", "aria-label": "Category", value: filter.category === null ? "*" : filter.category,
        onChange: function (e) { props.onFilter({ text: filter.text, category: e.target.value === "*" ? null : e.target.value }); } },
        h("option", { value: "*" }, "Every category"),
        (listing.categories || []).map(function (c) { return h("option", { key: c, value: c }, c || "(no category)"); })),
      h(B.Button, { variant: "success", disabled: props.busy || !selectedIds.length,
        onClick: function () { props.onCreate(selectedIds.map(function (id) { return props.selection[id]; })); } },
        "Create selected (" + selectedIds.length + ")"));
  }

  function TagPager(props) {
    var listing = props.listing, page = logic.pageInfo(listing);
    if (!listing.total) {
      return h("p", { className: "text-muted mb-0", "data-testid": "pager" }, listing.unfiltered_total ?
        "No open tag matches the filter." : "No open tag left in this report.");
    }
    var of = listing.total !== listing.unfiltered_total ? " (of " + listing.unfiltered_total + ")" : "";
    return h("div", { className: "tm-pager" },
      h("span", { className: "text-muted", "data-testid": "pager" }, page.first + "–" + page.last + " of " + listing.total + of),
      page.pages > 1 ? h(B.ButtonGroup, null,
        h(B.Button, { size: "sm", variant: "secondary", disabled: page.previous === null, onClick: function () { props.onOffset(page.previous); } }, "Previous"),
        h(B.Button, { size: "sm", variant: "secondary", disabled: page.next === null, onClick: function () { props.onOffset(page.next); } }, "Next")) : null);
  }

  function TagTable(props) {
    var listing = props.listing;
    var listed = listing.tags || [];
    var openListed = listed.filter(function (t) { return logic.isOpen(props.resolved[t.stashdb_id]); });
    return h("div", { className: "table-responsive" },
      h(B.Table, { className: "tm-table", size: "sm", striped: true, variant: "dark" },
        h("thead", null, h("tr", null,
          h("th", null, h(B.Form.Check, { type: "checkbox", id: "tm-select-page", "aria-label": "Select this page",
            checked: openListed.length > 0 && openListed.every(function (t) { return props.selection[t.stashdb_id]; }),
            onChange: function () { props.onToggleAll(openListed); } })),
          h("th", null, "StashDB tag"), h("th", { className: "text-right" }, "Scenes"), h("th", null, "Resolve"))),
        h("tbody", null, logic.tableRows(listed, props.resolvedRows).map(function (tag) {
          return h(TagRow, { key: tag.stashdb_id, tag: tag, endpoint: listing.endpoint, state: props.resolved[tag.stashdb_id],
            selected: props.selection[tag.stashdb_id], busy: props.busy, synced: props.synced, onToggle: props.onToggle,
            onLink: props.onLink, onCreate: props.onCreate, onExclude: props.onExclude });
        }))));
  }

  function TagsPanel(props) {
    var listing = props.listing;
    var body;
    if (props.error) {
      body = h(B.Alert, { variant: "warning", className: "mb-0" }, props.error);
    } else if (!listing) {
      body = h("div", null, "Loading…");
    } else if (!listing.unfiltered_total && !Object.keys(props.resolvedRows).length) {
      body = h("p", { className: "mb-0" }, listing.resolved_since_report ?
        "Every unmatched StashDB tag of the last full run is resolved (" + listing.resolved_since_report + " since it ran)." :
        "No unmatched StashDB tags in the last full run.");
    } else {
      body = h("div", null,
        h(TagFilters, props),
        h("p", { className: "text-muted small" }, "Exclude adds a pattern to Stash's own exclude tag patterns " +
          "(Settings → Metadata Providers → Scraping): Identify and the Tagger skip that tag too."),
        listing.total || Object.keys(props.resolvedRows).length ? h(TagTable, props) : null,
        h(TagPager, props));
    }
    var count = listing && typeof listing.unfiltered_total === "number" ? " (" + listing.unfiltered_total + ")" : "";
    return h(Section, { title: "Unmatched StashDB tags" + count, id: "tm-tags" }, body);
  }

  // -- 5. syncing the affected scenes: tag_scenes' answer -------------------------------

  function AffectedPanel(props) {
    var affected = props.affected, mode = props.mode;
    var count = affected ? affected.total : 0;
    var dry = !mode || mode.dry_run !== false;
    var ready = affected && affected.complete && count > 0;
    var text = props.error ? null : affected ? count + " scene" + (count === 1 ? "" : "s") + " carry the tags resolved here." :
      props.resolvedCount ? "Looking up their scenes…" : "Link, create or exclude tags above; their scenes are then listed here.";
    return h(Section, { title: "Sync the affected scenes", id: "tm-affected" },
      props.error ? h(B.Alert, { variant: "warning" }, props.error) : h("p", null, text),
      affected && affected.note ? h("p", { className: "text-warning" }, affected.note) : null,
      mode && mode.dry_run && count ? h("p", { className: "text-warning" }, "The mode is " + mode.label + ": this run writes nothing. Switch to Live above to write the tags.") : null,
      h("div", { className: "tm-buttons" }, h(B.Button, { variant: dry ? "secondary" : "danger", disabled: props.busy || !ready || !mode, onClick: props.onSync },
        "Sync the affected scenes" + (dry ? " (dry run)" : ""))),
      props.outcome ? h(B.Alert, { variant: props.outcome.ok ? "success" : "danger", className: "mt-3 mb-0", "data-testid": "sync-outcome" }, props.outcome.text) : null);
  }

  // -- 7. the re-match offer: rematch_candidates' answer, after a reload too -------------

  function OfferPanel(props) {
    var summary = logic.offerSummary(props.offer);
    if (!summary && !props.error) return null;
    var mode = props.mode, dry = !mode || mode.dry_run !== false;
    var body = props.error ? h(B.Alert, { variant: "warning" }, "The scenes to re-match could not be read: " + props.error) :
      h("div", null,
        h("p", { className: "mb-2", "data-testid": "rematch-offer" }, summary.text),
        summary.tags.length ? h("ul", { className: "tm-offer-tags mb-2" }, summary.tags.map(function (tag) {
          return h("li", { key: tag.key }, tag.text);
        })) : null,
        summary.notes.map(function (note) { return h("p", { className: "text-muted small mb-1", key: note }, note); }),
        summary.count ? h("p", { className: "text-muted small" }, "The re-match applies what the last sync learned from " +
          "StashDB through today's tags, links, aliases and exclude patterns: no StashDB request, and no tag removed.") : null,
        summary.count && mode && mode.dry_run ? h("p", { className: "text-warning" }, "The mode is " + mode.label +
          ": this run writes nothing. Switch to Live above to write the tags.") : null,
        summary.count ? h("div", { className: "tm-buttons" }, h(B.Button, { variant: dry ? "secondary" : "primary",
          disabled: props.busy || !mode, onClick: props.onRematch }, logic.rematchButtonLabel(summary.count, mode))) : null);
    return h(Section, { title: "Tags resolved since the last run", id: "tm-offer" }, body,
      h(JobStatus, { job: props.job && props.job.where === "offer" ? props.job : null }),
      props.outcome ? h(B.Alert, { variant: props.outcome.ok ? "success" : "danger", className: "mt-3 mb-0",
        "data-testid": "rematch-outcome" }, props.outcome.text) : null);
  }

  // -- 8. runs, newest first, each live one with its undo --------------------------------

  function RunRow(props) {
    var row = props.row, when = row.time ? row.time.toLocaleString() : "?";
    return h("tr", { "data-testid": "run-row", "data-report": row.report },
      h("td", { className: "tm-run-time" }, when),
      h("td", { className: "tm-run-label" }, row.label, h("div", { className: "small text-muted" }, row.report)),
      h("td", { className: "tm-run-counts" }, row.counts, row.undone ? h("div", { className: "small text-warning", "data-testid": "run-undone" }, row.undone) : null),
      h("td", { className: "tm-run-undo text-right" }, row.undoable ? h(B.Button, { size: "sm", variant: "outline-warning", disabled: props.busy,
        "aria-label": "Undo the " + row.label + " of " + when, onClick: function () { props.onUndo(row, when); } }, "Undo…") : null));
  }

  function RunsPanel(props) {
    var runs = props.runs, rows = logic.runRows(runs);
    var body = props.error ? h(B.Alert, { variant: "warning", className: "mb-0" }, "The runs could not be read: " + props.error) :
      !runs ? h("div", null, "Loading…") : !rows.length ? h("p", { className: "mb-0" }, "No run yet.") :
      h("div", { className: "table-responsive" }, h(B.Table, { className: "tm-runs mb-0", size: "sm", variant: "dark" },
        h("thead", null, h("tr", null, h("th", null, "Started"), h("th", null, "Run"), h("th", null, "What it did"), h("th", null, ""))),
        h("tbody", null, rows.map(function (row) {
          return h(RunRow, { key: row.report, row: row, busy: props.busy, onUndo: props.onUndo });
        }))));
    return h(Section, { title: "Runs", id: "tm-runs" },
      h("p", { className: "text-muted small" }, "Newest first. Undo removes from each scene exactly the tags that run " +
        "added, where the scene still carries them, and keeps every other tag: it is the only way tagManager removes a tag."),
      body,
      runs && runs.total > rows.length ? h("p", { className: "text-muted small mt-2 mb-0" }, "The newest " + rows.length +
        " of " + runs.total + " reports.") : null);
  }

  // -- 9. pinning name matches -----------------------------------------------------------

  function PinPanel(props) {
    return h(Section, { title: "Pin name matches", id: "tm-pin" },
      h("p", { className: "text-muted small" }, "Local tags that match a StashDB tag of the last run by name or alias " +
        "gain that tag's StashID, so a rename on StashDB no longer breaks the match. A tag linked to another StashDB tag " +
        "is listed and left alone. You see what it would do first; StashDB is not asked."),
      h("div", { className: "tm-buttons" }, h(B.Button, { variant: "secondary", disabled: props.busy, onClick: props.onPin },
        "Pin name matches…")));
  }

  // -- a write previewed first: its dry run, then the same operation live ---------------

  function usePreviewed(mounted, setBusy, after) {
    var _s = useState(null), state = _s[0], setState = _s[1];
    var opened = useRef(0);
    function update(number, change) {
      if (mounted.current && number === opened.current) setState(function (s) { return s && Object.assign({}, s, change); });
    }
    function open(subject, args) {
      var number = ++opened.current;
      setState({ subject: subject, args: args });
      operation(Object.assign({}, args, { dry_run: true })).then(function (answer) { update(number, { preview: answer }); },
        function (e) { update(number, { error: errorText(e) }); });
    }
    function confirm() {
      var number = opened.current;
      update(number, { working: true }); setBusy(true);
      operation(Object.assign({}, state.args, { dry_run: false })).then(function (answer) {
        setBusy(false); update(number, { working: false, result: answer }); after();
      }, function (e) { setBusy(false); update(number, { working: false, error: errorText(e) }); });
    }
    function close() { opened.current++; setState(null); }
    return { state: state, open: open, confirm: confirm, close: close };
  }

  // props: flow (usePreviewed), title, intro, describe(preview) -> {body, canConfirm, confirmLabel},
  // result(answer) -> {ok, text}, name (the test ids' prefix).
  function PreviewDialog(props) {
    var state = props.flow.state;
    if (!state) return null;
    var preview = state.preview ? props.describe(state.preview) : null;
    var result = state.result ? props.result(state.result) : null;
    var done = !!(result || state.error);
    var body = state.error ? h(B.Alert, { variant: "danger", className: "mb-0" }, state.error) :
      result ? h(B.Alert, { variant: result.ok ? "success" : "warning", className: "mb-0", "data-testid": props.name + "-result" }, result.text) :
      preview ? h("div", { "data-testid": props.name + "-preview" }, preview.body) : h("p", { className: "mb-0" }, "Counting…");
    return h(B.Modal, { show: true, onHide: props.flow.close },
      h(B.Modal.Header, { closeButton: true }, h(B.Modal.Title, null, props.title)),
      h(B.Modal.Body, null, h("p", { className: "text-muted" }, props.intro), body),
      h(B.Modal.Footer, null, done ? h(B.Button, { variant: "secondary", onClick: props.flow.close }, "Close") :
        h(React.Fragment, null,
          h(B.Button, { variant: "secondary", onClick: props.flow.close }, "Cancel"),
          h(B.Button, { variant: "danger", disabled: !preview || !preview.canConfirm || state.working, onClick: props.flow.confirm },
            preview ? preview.confirmLabel : "Confirm"))));
  }

  function UndoDialog(props) {
    var subject = props.flow.state && props.flow.state.subject;
    return h(PreviewDialog, { flow: props.flow, name: "undo", result: logic.undoResult,
      title: subject ? "Undo the " + subject.label + " of " + subject.when + "?" : "",
      intro: "This removes from each scene exactly the tags this run added, where the scene still carries them; every other tag stays.",
      describe: function (preview) {
        var said = logic.undoPreview(preview);
        return { body: h("p", { className: "mb-0" }, said.text), canConfirm: said.canConfirm, confirmLabel: said.confirmLabel };
      } });
  }

  function PinDialog(props) {
    return h(PreviewDialog, { flow: props.flow, name: "pin", result: logic.pinResult, title: "Pin name matches?",
      intro: "Each local tag below gains the StashID of the StashDB tag it matches by name or alias (read, merged, written).",
      describe: function (preview) {
        var said = logic.pinPreview(preview);
        return { canConfirm: said.canConfirm, confirmLabel: said.confirmLabel, body: h("div", null,
          h("p", null, said.summary),
          said.rows.length ? h("ul", { className: "small" }, said.rows.map(function (row) { return h("li", { key: row.key }, row.text); })) : null,
          said.more ? h("p", { className: "small text-muted" }, "and " + said.more + " more.") : null,
          said.elsewhere.length ? h("div", null, h("p", { className: "mb-1" }, "Left alone:"),
            h("ul", { className: "small mb-0" }, said.elsewhere.map(function (row) { return h("li", { key: row.key }, row.text); }))) : null) };
      } });
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

  // The args of one unmatched_tags call: the page asks for what the person filters and pages.
  function listingArgs(query) {
    var args = { mode: "unmatched_tags", offset: query.offset, limit: logic.PAGE_SIZE };
    if (query.text.trim()) args.text = query.text;
    if (query.category !== null) args.category = query.category;
    return args;
  }

  // The run mode, as run_mode answers it: read on load and after the switch wrote the setting.
  function useRunMode(mounted, setBusy, fail) {
    var _m = useState(null), mode = _m[0], setMode = _m[1];
    var _e = useState(""), error = _e[0], setError = _e[1];
    var load = useCallback(function () {
      return operation({ mode: "run_mode" }).then(function (answer) {
        if (mounted.current) { setMode(answer); setError(""); }
        return answer;
      }, function (e) { if (mounted.current) { setMode(null); setError(errorText(e)); } });
    }, []);
    useEffect(function () { load(); }, []);
    function setDryRun(dryRun) {
      setBusy(true);
      writeSetting("syncDryRun", dryRun).then(load).then(function () { setBusy(false); },
        function (e) { setBusy(false); fail(e); });
    }
    return { mode: mode, error: error, setDryRun: setDryRun };
  }

  // The listing of one query {text, category, offset}; the latest answer wins.
  function useListing(mounted) {
    var _q = useState({ text: "", category: null, offset: 0 }), query = _q[0], setQuery = _q[1];
    var _l = useState(null), listing = _l[0], setListing = _l[1];
    var _e = useState(""), error = _e[0], setError = _e[1];
    var asked = useRef(0);
    var queryRef = useRef(query);
    queryRef.current = query;
    var load = useCallback(function () {
      var number = ++asked.current, current = queryRef.current;
      return operation(listingArgs(current)).then(function (answer) {
        if (!mounted.current || number !== asked.current) return answer;
        var back = logic.offsetPastTheEnd(answer);
        if (back !== null) { setQuery(Object.assign({}, current, { offset: back })); return answer; }
        setListing(answer); setError("");
        return answer;
      }, function (e) {
        if (mounted.current && number === asked.current) { setListing(null); setError(errorText(e)); }
        return null;
      });
    }, []);
    useEffect(function () {  // typing waits for a pause; paging and the category ask at once
      var timer = setTimeout(load, query.typing ? 300 : 0);
      return function () { clearTimeout(timer); };
    }, [query]);
    return { query: query, setQuery: setQuery, listing: listing, error: error, load: load };
  }

  // The scenes of the tags resolved here (tag_scenes), asked again whenever they change.
  function useAffected(mounted, resolved, report) {
    var _a = useState(null), affected = _a[0], setAffected = _a[1];
    var _e = useState(""), error = _e[0], setError = _e[1];
    var asked = useRef(0);
    useEffect(function () {
      var ids = logic.affectingIds(resolved), number = ++asked.current;
      setAffected(null); setError("");
      if (!ids.length || !report) return;
      operation({ mode: "tag_scenes", stashdb_ids: ids, report: report }).then(function (answer) {
        if (mounted.current && number === asked.current) setAffected(answer);
      }, function (e) { if (mounted.current && number === asked.current) setError(errorText(e)); });
    }, [resolved, report]);
    return { affected: affected, error: error };
  }

  // An operation's latest answer, asked again by load(); an older answer arriving late is dropped.
  function useAnswer(mounted, args) {
    var _a = useState(null), answer = _a[0], setAnswer = _a[1];
    var _e = useState(""), error = _e[0], setError = _e[1];
    var asked = useRef(0);
    var load = useCallback(function () {
      var number = ++asked.current;
      return operation(args).then(function (result) {
        if (mounted.current && number === asked.current) { setAnswer(result); setError(""); }
        return result;
      }, function (e) {
        if (mounted.current && number === asked.current) setError(errorText(e));
        return null;
      });
    }, []);
    return { answer: answer, error: error, load: load };
  }

  function TagManagerPage() {
    var Toast = api.hooks.useToast();
    var loadingComponents = api.hooks.useLoadComponents([api.loadableComponents.Tags]);
    var mounted = useRef(true);
    useEffect(function () { return function () { mounted.current = false; }; }, []);
    var _b = useState(false), busy = _b[0], setBusy = _b[1];
    function fail(error) { Toast.error(new Error(errorText(error))); }

    var mode = useRunMode(mounted, setBusy, fail);
    var tags = useListing(mounted);
    var listing = tags.listing;
    var _j = useState(null), job = _j[0], setJob = _j[1];
    var _r = useState({}), resolved = _r[0], setResolved = _r[1];
    var _rr = useState({}), resolvedRows = _rr[0], setResolvedRows = _rr[1];
    var _sel = useState({}), selection = _sel[0], setSelection = _sel[1];
    var _ex = useState(null), excluding = _ex[0], setExcluding = _ex[1];
    var _o = useState(null), outcome = _o[0], setOutcome = _o[1];
    var _sy = useState(false), synced = _sy[0], setSynced = _sy[1];
    var affected = useAffected(mounted, resolved, listing && listing.report);
    var offer = useAnswer(mounted, { mode: "rematch_candidates" });
    var runs = useAnswer(mounted, { mode: "list_runs" });
    var refreshPlan = useAnswer(mounted, { mode: "refresh_plan" });
    var _ro = useState(null), rematchOutcome = _ro[0], setRematchOutcome = _ro[1];
    var undo = usePreviewed(mounted, setBusy, function () { runs.load(); offer.load(); forgetRematch(); });
    var pin = usePreviewed(mounted, setBusy, function () { offer.load(); });
    useEffect(function () { offer.load(); }, [resolved]);   // on load, and after each tag resolved here
    useEffect(function () { runs.load(); refreshPlan.load(); }, []);

    // What the offer panel said of the last re-match, once something else changed the scenes.
    function forgetRematch() {
      setRematchOutcome(null);
      setJob(function (current) { return current && current.where === "offer" ? null : current; });
    }

    // A job's progress, shown in the section (`where`) whose button started it.
    function watch(jobId, title, where, then) {
      if (where !== "offer") forgetRematch();
      setJob({ id: jobId, title: title, where: where, status: { status: "READY" } });
      function poll() {
        findJob(jobId).then(function (found) {
          if (!mounted.current) return;
          var state = logic.jobState(found);
          setJob({ id: jobId, title: title, where: where, status: found || { status: "FINISHED" } });
          if (state.done) { setBusy(false); then(state); } else { setTimeout(poll, JOB_POLL_MS); }
        }, function (error) { setBusy(false); fail(error); });
      }
      setTimeout(poll, JOB_POLL_MS);
    }

    function run(kind) {
      setBusy(true);
      var task = { full: FULL_REPORT_TASK, refresh: REFRESH_TASK }[kind] || SYNC_TASK;
      var said = mode.mode.dry_run ? "Dry run" : "Live run";
      var title = kind === "full" ? "Full dry-run report" : (kind === "refresh" ? "Refresh: " + said.toLowerCase() : said);
      startTask(task, null).then(function (id) {
        watch(id, title, "run", function (state) {
          if (state.ok) { setResolved({}); setResolvedRows({}); setSelection({}); setSynced(false); setOutcome(null); }
          tags.load(); runs.load(); offer.load(); refreshPlan.load();
        });
      }, function (error) { setBusy(false); fail(error); });
    }

    function markResolved(states, rows) {
      setResolved(function (previous) { return Object.assign({}, previous, states); });
      setResolvedRows(function (previous) {
        var next = Object.assign({}, previous);
        rows.forEach(function (row) { if (states[row.stashdb_id]) next[row.stashdb_id] = row; });
        return next;
      });
      setSelection(function (previous) {
        var next = Object.assign({}, previous);
        Object.keys(states).forEach(function (id) { if (!logic.isOpen(states[id])) delete next[id]; });
        return next;
      });
      setSynced(false); setOutcome(null); forgetRematch();
    }

    function link(tag, local) {
      setBusy(true);
      operation({ mode: "link_tag", stashdb_id: tag.stashdb_id, tag_id: String(local.id) }).then(function (answer) {
        var states = {}; states[tag.stashdb_id] = { kind: "linked", tagName: answer.tag_name || local.name, tagId: answer.tag_id };
        markResolved(states, [tag]); setBusy(false);
      }, function (error) { setBusy(false); fail(error); });
    }

    function create(rows) {
      if (!rows.length) return;
      setBusy(true);
      var ids = rows.map(function (row) { return row.stashdb_id; });
      operation({ mode: "create_tags", stashdb_ids: ids }).then(function (answer) {
        markResolved(logic.statesFromCreation(answer), rows); setBusy(false);
        if (answer.skipped || answer.failed) Toast.error(new Error((answer.skipped + answer.failed) + " of " + ids.length + " not created: see the rows"));
      }, function (error) { setBusy(false); fail(error); });
    }

    function exclude() {
      var tag = excluding;
      setExcluding(null); setBusy(true);
      operation({ mode: "exclude_tag", name: tag.name }).then(function (answer) {
        var states = {}; states[tag.stashdb_id] = { kind: "excluded", pattern: answer.pattern };
        markResolved(states, [tag]); setBusy(false);
      }, function (error) { setBusy(false); fail(error); });
    }

    function syncAffected() {
      var scenes = affected.affected, before = listing && listing.newest_run ? listing.newest_run.report : null;
      setBusy(true); setOutcome(null);
      startTask(SYNC_TASK, { scene_ids: scenes.scene_ids.join(",") }).then(function (id) {
        watch(id, "Sync of " + scenes.total + " affected scenes", "run", function (state) {
          runs.load(); offer.load();
          tags.load().then(function (answer) {
            if (!mounted.current) return;
            var said = logic.syncOutcome(scenes.total, before, answer, state);
            setSynced(said.synced); setOutcome(said);
          });
        });
      }, function (error) { setBusy(false); fail(error); });
    }

    // The re-match task for exactly the scenes rematch_candidates named; what it did comes
    // from its own row in list_runs.
    function rematch() {
      var summary = logic.offerSummary(offer.answer);
      var newest = runs.answer && runs.answer.runs && runs.answer.runs[0], before = newest ? newest.report : null;
      setBusy(true); setRematchOutcome(null);
      startTask(REMATCH_TASK, { scene_ids: summary.sceneIds.join(",") }).then(function (id) {
        watch(id, "Re-match of " + summary.count + " scene" + (summary.count === 1 ? "" : "s"), "offer", function (state) {
          tags.load(); offer.load();
          runs.load().then(function (answer) {
            if (mounted.current) setRematchOutcome(logic.rematchOutcome(summary.count, before, answer, state));
          });
        });
      }, function (error) { setBusy(false); fail(error); });
    }

    var query = tags.query;
    return h("div", { className: "tag-manager container-lg py-3" },
      h("h1", { className: "h3 mb-3" }, "tagManager"),
      h(ModePanel, { mode: mode.mode, error: mode.error, busy: busy, onChange: mode.setDryRun }),
      h(RunPanel, { mode: mode.mode, refreshPlan: refreshPlan.answer, busy: busy, job: job, onRun: run }),
      h(LastRunPanel, { listing: listing }),
      h(OfferPanel, { offer: offer.answer, error: offer.error, mode: mode.mode, busy: busy, job: job, outcome: rematchOutcome,
        onRematch: rematch }),
      loadingComponents ? h("div", null, "Loading…") : h(TagsPanel, {
        listing: listing, error: tags.error, filter: query, selection: selection, resolved: resolved,
        resolvedRows: resolvedRows, busy: busy, synced: synced,
        onFilter: function (f) { tags.setQuery({ text: f.text, category: f.category, offset: 0, typing: f.text !== query.text }); },
        onOffset: function (offset) { tags.setQuery(Object.assign({}, query, { offset: offset, typing: false })); },
        onToggle: function (row) { setSelection(function (s) { return logic.toggleSelected(s, row); }); },
        onToggleAll: function (rows) { setSelection(function (s) { return logic.toggleAll(s, rows); }); },
        onLink: link, onCreate: create, onExclude: setExcluding
      }),
      h(AffectedPanel, { affected: affected.affected, error: affected.error, resolvedCount: logic.affectingIds(resolved).length,
        mode: mode.mode, busy: busy, outcome: outcome, onSync: syncAffected }),
      h(RematchPanel, { listing: listing }),
      h(RunsPanel, { runs: runs.answer, error: runs.error, busy: busy,
        onUndo: function (row, when) { undo.open({ label: row.label, when: when }, { mode: "undo_run", report: row.report }); } }),
      listing ? h(PinPanel, { busy: busy, onPin: function () { pin.open(null, { mode: "pin_matches" }); } }) : null,
      h(ExcludeDialog, { tag: excluding, onCancel: function () { setExcluding(null); }, onConfirm: exclude }),
      h(UndoDialog, { flow: undo }),
      h(PinDialog, { flow: pin }));
  }

  // -- 6. stale and unknown StashIDs of the last run -----------------------------------

  function RematchPanel(props) {
    var rows = logic.rematchRows(props.listing);
    if (!rows.length) return null;
    var total = props.listing.rematch_total || rows.length;
    return h(Section, { title: "Scenes to re-match (" + total + ")", id: "tm-rematch" },
      h("p", { className: "text-muted small" },
        "Their StashID points at a scene StashDB no longer has or never had, so no tags came for them. " +
        "Open each one and re-match it in the Tagger."),
      h("ul", { className: "list-unstyled mb-0", "data-testid": "rematch-scenes" }, rows.map(function (row) {
        return h("li", { key: row.sceneId, className: "mb-1" },
          h(Router.Link, { to: row.href }, row.title),
          h("span", { className: "small text-muted ml-2" }, row.reason + (row.stashId ? " (" + row.stashId + ")" : "")));
      })),
      total > rows.length ? h("p", { className: "text-muted small mt-2 mb-0" }, "The first " + rows.length + " of " + total +
        "; scenes.csv in report " + props.listing.report + " lists them all.") : null);
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
