//! State Envoy keeps process-wide and every worker VM sees: shared data (§2.7), shared queues
//! (§2.8) and metrics (§2.9).
//!
//! One [`SharedState`] lives behind a mutex in each [`crate::Envoy`]; VMs reach it through
//! their host state. The CAS counter is global to the store (Envoy: process-global), starts at
//! 1 and never hands out 0, because 0 means "unconditional" on the write side.

use std::collections::{HashMap, VecDeque};

use crate::abi::{metric, Status};

/// Result of a shared-data write.
#[derive(Debug, PartialEq, Eq)]
pub enum SetOutcome {
    Ok,
    CasMismatch,
}

/// The shared key/value store of one vm_id, with Envoy's CAS rules.
#[derive(Debug, Default)]
pub struct SharedData {
    entries: HashMap<(String, Vec<u8>), (Vec<u8>, u32)>,
    next_cas: u32,
}

impl SharedData {
    /// How many keys `vm_id`'s table holds (bounded-memory checks).
    pub fn key_count(&self, vm_id: &str) -> usize {
        self.entries.keys().filter(|(vm, _)| vm == vm_id).count()
    }

    /// Value and CAS of `key` in `vm_id`'s table.
    pub fn get(&self, vm_id: &str, key: &[u8]) -> Option<(Vec<u8>, u32)> {
        self.entries
            .get(&(vm_id.to_string(), key.to_vec()))
            .cloned()
    }

    /// Writes `value`; `cas == 0` is unconditional, a non-zero cas must match an *existing*
    /// key's CAS and is ignored for a missing key.
    pub fn set(&mut self, vm_id: &str, key: &[u8], value: Vec<u8>, cas: u32) -> SetOutcome {
        let slot = (vm_id.to_string(), key.to_vec());
        if let Some((_, current)) = self.entries.get(&slot) {
            if cas != 0 && cas != *current {
                return SetOutcome::CasMismatch;
            }
        }
        let fresh = self.fresh_cas();
        self.entries.insert(slot, (value, fresh));
        SetOutcome::Ok
    }

    fn fresh_cas(&mut self) -> u32 {
        self.next_cas = self.next_cas.wrapping_add(1);
        if self.next_cas == 0 {
            self.next_cas = 1;
        }
        self.next_cas
    }
}

/// Where `proxy_on_queue_ready` goes: the last registrant's VM and root context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueTarget {
    pub vm: usize,
    pub root_context: u32,
}

#[derive(Debug)]
struct Queue {
    vm_id: String,
    name: String,
    target: QueueTarget,
    items: VecDeque<Vec<u8>>,
}

/// Shared queues keyed by (vm_id, name); ids start at 1 like cpp-host's token counter.
#[derive(Debug, Default)]
pub struct SharedQueues {
    queues: Vec<Queue>,
    /// Notifications posted by enqueue, drained by the orchestrator onto the target VM.
    pub ready: Vec<(QueueTarget, u32)>,
}

impl SharedQueues {
    /// Registers (or re-targets) a queue and returns its id.
    pub fn register(&mut self, vm_id: &str, name: &str, target: QueueTarget) -> u32 {
        if let Some(i) = self
            .queues
            .iter()
            .position(|q| q.vm_id == vm_id && q.name == name)
        {
            self.queues[i].target = target;
            return i as u32 + 1;
        }
        self.queues.push(Queue {
            vm_id: vm_id.to_string(),
            name: name.to_string(),
            target,
            items: VecDeque::new(),
        });
        self.queues.len() as u32
    }

    /// The id of an existing queue.
    pub fn resolve(&self, vm_id: &str, name: &str) -> Option<u32> {
        self.queues
            .iter()
            .position(|q| q.vm_id == vm_id && q.name == name)
            .map(|i| i as u32 + 1)
    }

    /// Appends an item and posts a ready notification to the registrant.
    pub fn enqueue(&mut self, id: u32, item: Vec<u8>) -> Status {
        let Some(queue) = self.queue_mut(id) else {
            return Status::NotFound;
        };
        queue.items.push_back(item);
        let target = queue.target;
        self.ready.push((target, id));
        Status::Ok
    }

    /// Takes the oldest item: `Err(NotFound)` unknown id, `Err(Empty)` nothing queued.
    pub fn dequeue(&mut self, id: u32) -> Result<Vec<u8>, Status> {
        let queue = self.queue_mut(id).ok_or(Status::NotFound)?;
        queue.items.pop_front().ok_or(Status::Empty)
    }

    fn queue_mut(&mut self, id: u32) -> Option<&mut Queue> {
        let index = usize::try_from(id).ok()?.checked_sub(1)?;
        self.queues.get_mut(index)
    }
}

/// Envoy's three metric kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

impl MetricKind {
    pub(crate) fn from_raw(raw: i32) -> Option<MetricKind> {
        match raw {
            metric::COUNTER => Some(MetricKind::Counter),
            metric::GAUGE => Some(MetricKind::Gauge),
            metric::HISTOGRAM => Some(MetricKind::Histogram),
            _ => None,
        }
    }
}

/// Metric values aggregated across workers by (kind, name), as Envoy's stats store does.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: HashMap<String, u64>,
    gauges: HashMap<String, u64>,
    histograms: HashMap<String, Vec<u64>>,
}

impl Metrics {
    /// Creates the stat if needed (defining an existing name is a no-op).
    pub fn define(&mut self, kind: MetricKind, name: &str) {
        match kind {
            MetricKind::Counter => {
                self.counters.entry(name.to_string()).or_default();
            }
            MetricKind::Gauge => {
                self.gauges.entry(name.to_string()).or_default();
            }
            MetricKind::Histogram => {
                self.histograms.entry(name.to_string()).or_default();
            }
        }
    }

    /// `proxy_increment_metric`: counters need delta > 0; histograms refuse.
    pub fn increment(&mut self, kind: MetricKind, name: &str, delta: i64) -> Status {
        match kind {
            MetricKind::Counter if delta > 0 => {
                let c = self.counters.entry(name.to_string()).or_default();
                *c = c.wrapping_add(delta as u64);
                Status::Ok
            }
            MetricKind::Gauge => {
                let g = self.gauges.entry(name.to_string()).or_default();
                *g = g.wrapping_add_signed(delta);
                Status::Ok
            }
            _ => Status::BadArgument,
        }
    }

    /// `proxy_record_metric`: counter adds, gauge sets, histogram records a sample.
    pub fn record(&mut self, kind: MetricKind, name: &str, value: u64) -> Status {
        match kind {
            MetricKind::Counter => {
                let c = self.counters.entry(name.to_string()).or_default();
                *c = c.wrapping_add(value);
            }
            MetricKind::Gauge => {
                self.gauges.insert(name.to_string(), value);
            }
            MetricKind::Histogram => {
                self.histograms
                    .entry(name.to_string())
                    .or_default()
                    .push(value);
            }
        }
        Status::Ok
    }

    /// `proxy_get_metric`: histograms ⇒ BadArgument.
    pub fn get(&self, kind: MetricKind, name: &str) -> Result<u64, Status> {
        match kind {
            MetricKind::Counter => Ok(self.counters.get(name).copied().unwrap_or(0)),
            MetricKind::Gauge => Ok(self.gauges.get(name).copied().unwrap_or(0)),
            MetricKind::Histogram => Err(Status::BadArgument),
        }
    }

    /// A counter's value, if defined.
    pub fn counter(&self, name: &str) -> Option<u64> {
        self.counters.get(name).copied()
    }

    /// A gauge's value, if defined.
    pub fn gauge(&self, name: &str) -> Option<u64> {
        self.gauges.get(name).copied()
    }

    /// A histogram's samples, if defined.
    pub fn histogram(&self, name: &str) -> Option<Vec<u64>> {
        self.histograms.get(name).cloned()
    }
}

/// Everything shared by the VMs of one Envoy.
#[derive(Debug, Default)]
pub struct SharedState {
    pub data: SharedData,
    pub queues: SharedQueues,
    pub metrics: Metrics,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cas_rules() {
        let mut d = SharedData::default();
        // Non-zero cas on a missing key simply creates it.
        assert_eq!(d.set("", b"k", b"1".to_vec(), 99), SetOutcome::Ok);
        let (v, cas) = d.get("", b"k").unwrap_or_default();
        assert_eq!((v.as_slice(), cas), (&b"1"[..], 1));
        assert_eq!(d.set("", b"k", b"2".to_vec(), 99), SetOutcome::CasMismatch);
        assert_eq!(d.set("", b"k", b"2".to_vec(), 1), SetOutcome::Ok);
        assert_eq!(d.get("", b"k").map(|e| e.1), Some(2));
        // cas 0 is unconditional; the counter is global across keys.
        assert_eq!(d.set("", b"other", b"x".to_vec(), 0), SetOutcome::Ok);
        assert_eq!(d.get("", b"other").map(|e| e.1), Some(3));
        assert_eq!(d.set("", b"k", Vec::new(), 0), SetOutcome::Ok);
        assert_eq!(d.get("", b"k"), Some((Vec::new(), 4)));
        // vm_ids are separate tables.
        assert_eq!(d.get("other-vm", b"k"), None);
    }

    #[test]
    fn queues() {
        let mut q = SharedQueues::default();
        let t1 = QueueTarget {
            vm: 0,
            root_context: 1,
        };
        let t2 = QueueTarget {
            vm: 1,
            root_context: 1,
        };
        let id = q.register("", "q", t1);
        assert_eq!(id, 1);
        assert_eq!(q.register("", "q", t2), 1);
        assert_eq!(q.resolve("", "q"), Some(1));
        assert_eq!(q.resolve("", "nope"), None);
        assert_eq!(q.dequeue(1), Err(Status::Empty));
        assert_eq!(q.enqueue(1, b"a".to_vec()), Status::Ok);
        assert_eq!(q.ready, vec![(t2, 1)]);
        assert_eq!(q.dequeue(1), Ok(b"a".to_vec()));
        assert_eq!(q.enqueue(7, Vec::new()), Status::NotFound);
        assert_eq!(q.dequeue(0), Err(Status::NotFound));
    }

    #[test]
    fn metric_rules() {
        let mut m = Metrics::default();
        m.define(MetricKind::Counter, "c");
        assert_eq!(
            m.increment(MetricKind::Counter, "c", 0),
            Status::BadArgument
        );
        assert_eq!(
            m.increment(MetricKind::Counter, "c", -1),
            Status::BadArgument
        );
        assert_eq!(m.increment(MetricKind::Counter, "c", 2), Status::Ok);
        assert_eq!(m.record(MetricKind::Counter, "c", 3), Status::Ok);
        assert_eq!(m.counter("c"), Some(5));
        m.define(MetricKind::Gauge, "g");
        assert_eq!(m.record(MetricKind::Gauge, "g", 10), Status::Ok);
        assert_eq!(m.increment(MetricKind::Gauge, "g", -3), Status::Ok);
        assert_eq!(m.get(MetricKind::Gauge, "g"), Ok(7));
        assert_eq!(
            m.increment(MetricKind::Histogram, "h", 1),
            Status::BadArgument
        );
        assert_eq!(m.get(MetricKind::Histogram, "h"), Err(Status::BadArgument));
        m.record(MetricKind::Histogram, "h", 4);
        assert_eq!(m.histogram("h"), Some(vec![4]));
    }
}
