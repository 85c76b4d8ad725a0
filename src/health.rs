//! Sena's own health: problems that are Sena's, not the canary's (a state
//! store that cannot commit, no file descriptors left). `/readyz` answers 503
//! while any is present, with every reason; each problem is logged once when
//! it starts and once when it ends, never once per evaluation.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// A part of Sena that can be unwell on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// The SQLite state store cannot commit (disk full, I/O error).
    Store,
    /// The process is out of a local resource (file descriptors).
    Resources,
    /// A notification channel, by name, has delivered nothing for longer
    /// than `notify.stuck_after`.
    Channel(&'static str),
}

impl Component {
    /// What Sena does about it, for the one log line when it starts.
    fn consequence(self) -> &'static str {
        match self {
            Component::Store => "evaluations go on and pages are sent from memory; the journal records of evaluations are lost until it recovers",
            Component::Resources => "the checks that cannot be asked hold their rollouts",
            Component::Channel(_) => "its notifications wait in the outbox and are retried; the other channels are told once",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Component::Store => "state store",
            Component::Resources => "local resources",
            Component::Channel(_) => "notification channel",
        }
    }
}

#[derive(Default)]
pub struct Health {
    problems: Mutex<BTreeMap<Component, String>>,
}

impl Health {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `component` is failing and why. Logs only when it was
    /// healthy before; returns whether this is a change of state.
    pub fn fail(&self, component: Component, why: impl Into<String>) -> bool {
        let why = why.into();
        let mut problems = self.problems.lock().unwrap_or_else(|p| p.into_inner());
        let started = !problems.contains_key(&component);
        if started {
            tracing::error!(
                component = component.as_str(),
                reason = %why,
                "Sena is unwell: {} failing; {}",
                component.as_str(),
                component.consequence()
            );
        }
        problems.insert(component, why);
        started
    }

    /// Records that `component` works again. Logs only when it was failing;
    /// returns whether this is a change of state.
    pub fn recover(&self, component: Component) -> bool {
        let mut problems = self.problems.lock().unwrap_or_else(|p| p.into_inner());
        let ended = problems.remove(&component).is_some();
        if ended {
            tracing::info!(
                component = component.as_str(),
                "{} works again",
                component.as_str()
            );
        }
        ended
    }

    /// Why `component` is failing, if it is.
    pub fn problem(&self, component: Component) -> Option<String> {
        let problems = self.problems.lock().unwrap_or_else(|p| p.into_inner());
        problems.get(&component).cloned()
    }

    /// Every current problem, in a stable order.
    pub fn problems(&self) -> Vec<(Component, String)> {
        let problems = self.problems.lock().unwrap_or_else(|p| p.into_inner());
        problems.iter().map(|(c, w)| (*c, w.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_is_a_change_of_state_once() {
        let h = Health::new();
        assert!(h.problems().is_empty());
        assert!(h.fail(Component::Store, "database or disk is full"));
        assert!(!h.fail(Component::Store, "database or disk is full"));
        assert_eq!(
            h.problem(Component::Store).as_deref(),
            Some("database or disk is full")
        );
        assert!(h.recover(Component::Store));
        assert!(!h.recover(Component::Store));
        assert!(h.problems().is_empty());
    }
}
