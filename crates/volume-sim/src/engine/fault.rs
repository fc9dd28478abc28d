//! Injected faults: seeded, scriptable per operation or at a rate, and
//! recorded so a test can assert what was injected.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// An operation the simulator can inject a fault into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // the names say it all: one per `BlockStorage` method, plus data access
pub enum SimOp {
    ListVolumes,
    GetVolume,
    CreateVolume,
    UpdateVolume,
    DeleteVolume,
    AttachVolume,
    DetachVolume,
    ResizeVolume,
    CloneVolume,
    CreateSnapshot,
    GetSnapshot,
    ListSnapshots,
    DeleteSnapshot,
    CreateBackup,
    GetBackup,
    ListBackups,
    DeleteBackup,
    RestoreBackup,
    ListInstances,
    Read,
    Write,
}

impl SimOp {
    /// Whether the operation changes anything.
    pub const fn is_mutation(self) -> bool {
        !matches!(
            self,
            Self::ListVolumes
                | Self::GetVolume
                | Self::GetSnapshot
                | Self::ListSnapshots
                | Self::GetBackup
                | Self::ListBackups
                | Self::ListInstances
                | Self::Read
        )
    }
}

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The answer comes this much later (on the runtime's clock).
    Latency(Duration),
    /// The operation fails with this HTTP status and message, and changes nothing.
    ErrorBefore {
        /// The HTTP status a fake answers with.
        status: u16,
        /// The message.
        message: String,
    },
    /// The operation takes effect, then fails with this status and message:
    /// the caller cannot tell it happened.
    ErrorAfter {
        /// The HTTP status a fake answers with.
        status: u16,
        /// The message.
        message: String,
    },
    /// 429 with this retry-after; nothing changes.
    RateLimited {
        /// What the answer asks the caller to wait.
        retry_after: Duration,
    },
    /// The operation starts and its transient state never ends.
    Stuck,
    /// The operation starts and lands in its failure state (`error` for a
    /// create, `error-resizing` for a resize, `error-deleting` for a delete,
    /// `error-restoring` for a restore).
    LandInError,
    /// The connection is dropped without an answer (fakes); in process this
    /// is a transport error with an unknown outcome, after the change.
    DropConnection,
}

/// When a rule fires.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Trigger {
    /// On the next `n` matching calls.
    Next(u32),
    /// On the `n`th matching call from now (1-based), once.
    Nth(u32),
    /// On every matching call.
    Always,
    /// On each matching call with this probability (from the seeded generator).
    Rate(f64),
}

/// One scripted fault: which operation, when, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    op: Option<SimOp>,
    trigger: Trigger,
    fault: Fault,
    seen: u32,
}

impl FaultRule {
    /// `fault` on the next call of any operation; narrow it with
    /// [`on`](Self::on) and the trigger setters.
    pub fn new(fault: Fault) -> Self {
        Self {
            op: None,
            trigger: Trigger::Next(1),
            fault,
            seen: 0,
        }
    }

    /// Only calls of `op`.
    pub fn on(mut self, op: SimOp) -> Self {
        self.op = Some(op);
        self
    }

    /// The next `n` matching calls.
    pub fn times(mut self, n: u32) -> Self {
        self.trigger = Trigger::Next(n);
        self
    }

    /// Only the `n`th matching call (1-based).
    pub fn nth(mut self, n: u32) -> Self {
        self.trigger = Trigger::Nth(n);
        self
    }

    /// Every matching call.
    pub fn always(mut self) -> Self {
        self.trigger = Trigger::Always;
        self
    }

    /// Each matching call with probability `p` (0 to 1).
    pub fn at_rate(mut self, p: f64) -> Self {
        // NaN would make the generator panic: treat it as "never".
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        self.trigger = Trigger::Rate(p);
        self
    }

    fn matches(&self, op: SimOp) -> bool {
        self.op.is_none_or(|o| o == op)
    }

    fn spent(&self) -> bool {
        match self.trigger {
            Trigger::Next(n) => self.seen >= n,
            Trigger::Nth(n) => self.seen >= n,
            Trigger::Always | Trigger::Rate(_) => false,
        }
    }
}

/// A fault that was injected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injected {
    /// The number of the call (every operation counts), from 1.
    pub call: u64,
    /// The operation.
    pub op: SimOp,
    /// What was injected.
    pub fault: Fault,
}

#[derive(Debug, Clone)]
pub(crate) struct FaultPlan {
    rules: Vec<FaultRule>,
    rng: StdRng,
    injected: Vec<Injected>,
}

impl FaultPlan {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rules: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            injected: Vec::new(),
        }
    }

    pub(crate) fn add(&mut self, rule: FaultRule) {
        self.rules.push(rule);
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    pub(crate) fn injected(&self) -> &[Injected] {
        &self.injected
    }

    /// Whether any rule is left that may fire.
    pub(crate) fn armed(&self) -> bool {
        !self.rules.is_empty()
    }

    /// Says which fault, if any, call number `call` (of `op`) gets. The
    /// first rule that fires wins. Calls are counted by the caller, which
    /// only asks while a rule is armed.
    pub(crate) fn decide(&mut self, op: SimOp, call: u64) -> Option<Fault> {
        let mut chosen = None;
        for rule in &mut self.rules {
            if !rule.matches(op) || rule.spent() {
                continue;
            }
            rule.seen = rule.seen.saturating_add(1);
            let fires = match rule.trigger {
                Trigger::Next(_) | Trigger::Always => true,
                Trigger::Nth(n) => rule.seen == n,
                Trigger::Rate(p) => self.rng.random_bool(p),
            };
            if fires {
                chosen = Some(rule.fault.clone());
                break;
            }
        }
        self.rules.retain(|r| !r.spent());
        if let Some(fault) = &chosen {
            self.injected.push(Injected {
                call,
                op,
                fault: fault.clone(),
            });
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_fire_as_scripted_and_are_recorded() {
        let mut plan = FaultPlan::new(1);
        plan.add(FaultRule::new(Fault::Stuck).on(SimOp::ResizeVolume).nth(2));
        plan.add(
            FaultRule::new(Fault::LandInError)
                .on(SimOp::CreateVolume)
                .times(2),
        );
        let mut call = 0;
        let mut decide = |op| {
            call += 1;
            plan.decide(op, call)
        };
        assert_eq!(decide(SimOp::ResizeVolume), None);
        assert_eq!(decide(SimOp::GetVolume), None);
        assert_eq!(decide(SimOp::ResizeVolume), Some(Fault::Stuck));
        assert_eq!(decide(SimOp::ResizeVolume), None);
        assert_eq!(decide(SimOp::CreateVolume), Some(Fault::LandInError));
        assert_eq!(decide(SimOp::CreateVolume), Some(Fault::LandInError));
        assert_eq!(decide(SimOp::CreateVolume), None);
        assert!(!plan.armed());
        let calls: Vec<u64> = plan.injected().iter().map(|i| i.call).collect();
        assert_eq!(calls, [3, 5, 6]);
    }

    #[test]
    fn rates_are_seeded() {
        let run = |seed| {
            let mut plan = FaultPlan::new(seed);
            plan.add(FaultRule::new(Fault::Stuck).at_rate(0.5));
            (1..=64)
                .map(|call| plan.decide(SimOp::Write, call).is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(9), run(9));
        let fired = run(9).iter().filter(|f| **f).count();
        assert!((10..54).contains(&fired), "{fired}");
    }
}
