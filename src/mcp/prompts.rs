//! Prompts: `optimize-hotspots {path}` gathers a file's hottest lines with their source context and
//! asks for a measured optimisation plan (profile, change, profile again, compare).

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{GetPromptResult, PromptMessage, Role};
use rmcp::{ErrorData, prompt, prompt_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::params::Metric;
use super::server::ScaleneMcp;
use super::views;

const HOT_LINES: usize = 5;
const CONTEXT_LINES: u32 = 3;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct OptimizeArgs {
    /// The Python file to optimise, relative to the workspace root.
    pub path: String,
}

#[prompt_router(vis = "pub(crate)")]
impl ScaleneMcp {
    #[prompt(
        name = "optimize-hotspots",
        description = "Plan a measured optimisation of a Python file: its hottest lines (from the newest profile) with source context, and the steps profile → change → profile again → compare."
    )]
    pub async fn optimize_hotspots(&self, Parameters(args): Parameters<OptimizeArgs>) -> Result<GetPromptResult, ErrorData> {
        let roots = self.roots();
        let path = roots.resolve(&args.path).map_err(|message| ErrorData::invalid_params(message, None))?;
        let display = roots.display(&path);
        let entry = self.engine().cache().latest_for_file(&path);
        let steps = format!(
            "Work in measured steps:\n\
             1. Baseline: note elapsed_s, peak_mb and the cpu_percent of the lines above{}, and save the profile with \
             save_profile {{\"profile_id\": ..., \"name\": \"baseline\"}}.\n\
             2. Propose at most three changes aimed at the hottest lines, each with the expected effect and why \
             (algorithm, data structure, vectorisation, avoiding repeated work or allocations). Do not change behaviour.\n\
             3. Apply one change at a time, then call profile {{\"path\": \"{display}\"}} again with the same arguments.\n\
             4. Compare with the baseline: compare {{\"before\": \"baseline\"}} lists the functions and lines that got \
             slower or faster beyond Scalene's sampling noise, on their new line numbers. Keep a change only if it \
             improved what it aimed at and regressed nothing; otherwise revert it.\n\
             5. Finish with a table: change, elapsed before → after, hottest line before → after.",
            if entry.is_none() { " (first call profile to get them)" } else { "" }
        );
        let text = match entry {
            None => format!(
                "Optimise the Python file {display}. There is no profile of it yet: first call the tool profile \
                 {{\"path\": \"{display}\"}} (it runs the program under Scalene), then read its hotspots.\n\n{steps}"
            ),
            Some(entry) => {
                let profile = &entry.profile;
                let current = std::fs::read_to_string(&path).ok();
                let file = entry.file_index(&path).map(|index| &profile.files[index]);
                let mut text = format!(
                    "Optimise the Python file {display}, using Scalene profile {} (status {}, elapsed {:.2} s, peak {:.1} MB{}).\n",
                    entry.id,
                    profile.status.as_str(),
                    profile.elapsed_s,
                    profile.peak_mb,
                    if file.is_some_and(views::is_stale) { "; the file changed since, so line numbers refer to the profiled text" } else { "" }
                );
                let metrics: &[Metric] = if profile.memory { &[Metric::Cpu, Metric::Memory] } else { &[Metric::Cpu] };
                for metric in metrics {
                    let (_, ranked) = views::top_lines(*metric, file.into_iter(), HOT_LINES);
                    if ranked.is_empty() {
                        continue;
                    }
                    text.push_str(&format!(
                        "\nHottest lines by {} (CPU percent of the run; memory in MB):\n",
                        if *metric == Metric::Cpu { "CPU time" } else { "peak memory" }
                    ));
                    for (file, line, _) in ranked {
                        text.push_str(&format!(
                            "\n{display}:{} — {:.1}% CPU (python {:.1}, native {:.1}, system {:.1}), peak {:.1} MB, allocated {:.1} MB\n```python\n",
                            line.line,
                            line.cpu_total(),
                            line.metrics.cpu_python,
                            line.metrics.cpu_native,
                            line.metrics.cpu_system,
                            line.metrics.peak_mb,
                            line.metrics.alloc_mb
                        ));
                        let source = if file.source.is_empty() { current.as_deref().unwrap_or("") } else { &file.source };
                        let first = line.line.saturating_sub(CONTEXT_LINES).max(1);
                        for (index, text_line) in source.lines().enumerate().skip(first as usize - 1).take((2 * CONTEXT_LINES + 1) as usize) {
                            let number = index as u32 + 1;
                            let marker = if number == line.line { ">" } else { " " };
                            text.push_str(&format!("{marker}{number:5} {text_line}\n"));
                        }
                        text.push_str("```\n");
                    }
                }
                if let Some(file) = file {
                    let functions: Vec<_> = crate::engine::profile::model::ranked_functions(std::iter::once(file))
                        .into_iter()
                        .map(|(_, function)| function)
                        .filter(|function| function.cpu_total() > 0.0)
                        .collect();
                    if !functions.is_empty() {
                        text.push_str("\nFunctions by CPU: ");
                        let parts: Vec<String> = functions
                            .iter()
                            .take(HOT_LINES)
                            .map(|function| format!("{} (lines {}-{}) {:.1}%", function.name, function.line, function.end_line, function.cpu_total()))
                            .collect();
                        text.push_str(&parts.join(", "));
                        text.push('\n');
                    }
                } else {
                    text.push_str(&format!("\nThe profile has no measurements for {display}: call profile {{\"path\": \"{display}\"}} first.\n"));
                }
                text.push('\n');
                text.push_str(&steps);
                text
            }
        };
        Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description(format!("Measured optimisation plan for {display}")))
    }
}
