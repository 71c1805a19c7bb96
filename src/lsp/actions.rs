//! textDocument/codeAction: profile (full, CPU only, live, live with recording paused); while a run of
//! the file goes on: cancel, pause or resume recording; clear; save as baseline, compare with the
//! baseline, exit compare mode.

use serde_json::json;
use tower_lsp_server::ls_types::{CodeAction, CodeActionOrCommand, Command as LspCommand};

use super::commands::Command;
use super::session::{DocumentSnapshot, Session};

fn action(title: &str, command: Command, argument: serde_json::Value) -> CodeActionOrCommand {
    CodeActionOrCommand::CodeAction(CodeAction {
        title: title.into(),
        command: Some(LspCommand { title: title.into(), command: command.id().into(), arguments: Some(vec![argument]) }),
        ..CodeAction::default()
    })
}

pub fn handle_code_action(session: &Session, snapshot: &DocumentSnapshot) -> Vec<CodeActionOrCommand> {
    if !snapshot.document.is_python() {
        return Vec::new();
    }
    let uri = snapshot.uri.as_str();
    let mut actions = vec![
        action("Profile this file with Scalene", Command::Profile, json!({ "uri": uri })),
        action("Profile this file with Scalene (CPU only)", Command::Profile, json!({ "uri": uri, "mode": "cpu" })),
        action("Profile this file live with Scalene", Command::Profile, json!({ "uri": uri, "live": true })),
        action(
            "Profile this file live with Scalene, recording paused",
            Command::Profile,
            json!({ "uri": uri, "live": true, "paused": true }),
        ),
    ];
    if let Some(run_id) = session.run_for(&snapshot.uri) {
        actions.push(action("Cancel profiling", Command::Cancel, json!({ "run_id": run_id.to_string() })));
        let recording = session.engine.run_info(run_id).is_none_or(|info| info.recording_wanted);
        if recording {
            actions.push(action("Pause recording", Command::Pause, json!({ "run_id": run_id.to_string() })));
        } else {
            actions.push(action("Resume recording", Command::Resume, json!({ "run_id": run_id.to_string() })));
        }
    }
    if snapshot.profile.is_some() {
        actions.push(action("Clear profile", Command::Clear, json!({ "uri": uri })));
        actions.push(action("Save profile as baseline", Command::SaveBaseline, json!({ "uri": uri })));
    }
    if session.engine.store().exists(crate::engine::keep::storage::DEFAULT_NAME) {
        actions.push(action("Compare with baseline", Command::Compare, json!({ "uri": uri })));
    }
    if snapshot.compare.is_some() {
        actions.push(action("Exit compare mode", Command::ExitCompare, json!({})));
    }
    actions
}
