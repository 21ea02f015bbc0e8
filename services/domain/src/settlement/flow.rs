//! Minimum-cost maximum flow by the primal–dual method, with Dinic blocking flows.
//!
//! Each phase computes shortest distances from the source with Dijkstra over reduced costs
//! `c(u,v) + π(u) − π(v)` (never negative), raises the potentials `π` by them, then pushes a
//! maximum flow through the *admissible* subgraph — residual arcs of reduced cost 0 — with
//! Dinic's algorithm: breadth-first levels, then blocking flows along level-increasing paths,
//! each augmentation pushing the bottleneck of the path, however large. Flow is never pushed
//! one unit at a time, so counts in the hundreds of thousands cost no more than counts of one.
//!
//! Worst case: every phase raises the source–sink distance by at least one, and a path's cost
//! is at most the number of cost-1 arcs on it, so there are at most `n + 1` phases of one
//! Dinic maximum flow each (`O(n²m)`): polynomial. Settlement costs are 0 (direct) and 1
//! (redirected), so in practice there are one to three phases.
//!
//! Ties between optimal flows are broken by the order arcs were added: Dijkstra, breadth-first
//! search and depth-first search all scan arcs in insertion order, so the same network always
//! gives the same flow. The engine knows nothing of states or modes; `model` builds the network.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// A capacity standing for "no limit". Far above any total flow: sums of counts are bounded by
/// `COUNT_MAX × ENTRIES_MAX` (10¹⁸) in the input module.
pub(crate) const UNLIMITED: u64 = u64::MAX / 2;

/// A node that Dijkstra did not reach, or a node off the breadth-first levels.
const UNREACHED: i64 = i64::MAX;

/// A flow network. Arcs are added as (tail, head, capacity, cost); [`FlowNetwork::solve`]
/// then lays them out grouped by tail — each arc next to the other arcs leaving its node, its
/// reverse (residual) twin among the arcs leaving its head — so that scanning a node's arcs
/// reads memory in order.
#[derive(Debug, Clone)]
pub(crate) struct FlowNetwork {
    node_count: usize,
    /// The arcs as added: (tail, head, capacity, cost).
    added: Vec<(u32, u32, u64, i64)>,
}

/// The arcs of a network grouped by tail: node `u`'s arcs are `first_arc[u]..first_arc[u+1]`.
#[derive(Debug, Clone)]
struct ResidualGraph {
    first_arc: Vec<usize>,
    head: Vec<u32>,
    /// The position of each arc's reverse twin.
    twin: Vec<u32>,
    residual: Vec<u64>,
    cost: Vec<i64>,
    potential: Vec<i64>,
}

/// The result of [`FlowNetwork::solve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Solution {
    /// The maximum flow value.
    pub value: u64,
    /// The flow on each arc, in the order the arcs were added.
    pub flow: Vec<u64>,
    /// Node potentials: every residual arc has a non-negative reduced cost under them.
    pub potential: Vec<i64>,
    /// Whether each node is on the source's side of a minimum cut.
    pub source_side: Vec<bool>,
}

impl FlowNetwork {
    /// An empty network of `node_count` nodes.
    pub fn new(node_count: usize) -> Self {
        Self {
            node_count,
            added: Vec::new(),
        }
    }

    /// Adds an arc of capacity `capacity` and a non-negative `cost` per unit.
    pub fn add_arc(&mut self, tail: usize, head: usize, capacity: u64, cost: i64) {
        debug_assert!(
            cost >= 0,
            "initial potentials of zero need non-negative costs"
        );
        self.added
            .push((to_u32(tail), to_u32(head), capacity, cost));
    }

    /// Computes a maximum flow of minimum cost from `source` to `sink`.
    pub fn solve(self, source: usize, sink: usize) -> Solution {
        let (mut graph, forward_position) = ResidualGraph::new(self.node_count, &self.added);
        let mut value = 0u64;
        while graph.raise_potentials(source, sink) {
            value += graph.max_flow_on_admissible_arcs(source, sink);
        }
        let flow = forward_position
            .iter()
            .map(|&position| graph.residual[graph.twin[position] as usize])
            .collect();
        let source_side = graph.reachable_from(source);
        Solution {
            value,
            flow,
            potential: graph.potential,
            source_side,
        }
    }
}

impl ResidualGraph {
    /// Lays the arcs out by tail (a counting sort, stable: ties keep the order they were
    /// added, which is the engine's tie rule). Returns the graph and, for each added arc, the
    /// position of its forward copy.
    fn new(node_count: usize, added: &[(u32, u32, u64, i64)]) -> (Self, Vec<usize>) {
        let mut first_arc = vec![0usize; node_count + 1];
        for &(tail, head, _, _) in added {
            first_arc[tail as usize + 1] += 1;
            first_arc[head as usize + 1] += 1;
        }
        for node in 0..node_count {
            first_arc[node + 1] += first_arc[node];
        }
        let arc_count = 2 * added.len();
        let mut next_slot = first_arc.clone();
        let mut graph = Self {
            head: vec![0; arc_count],
            twin: vec![0; arc_count],
            residual: vec![0; arc_count],
            cost: vec![0; arc_count],
            potential: vec![0; node_count],
            first_arc,
        };
        // Forward copies first, in the order added, so each node scans its own arcs in that
        // order; reverse twins after them.
        let mut forward_position = Vec::with_capacity(added.len());
        for &(tail, head, capacity, cost) in added {
            let position = next_slot[tail as usize];
            next_slot[tail as usize] += 1;
            graph.head[position] = head;
            graph.residual[position] = capacity;
            graph.cost[position] = cost;
            forward_position.push(position);
        }
        for (&(tail, head, _, cost), &forward) in added.iter().zip(&forward_position) {
            let position = next_slot[head as usize];
            next_slot[head as usize] += 1;
            graph.head[position] = tail;
            graph.cost[position] = -cost;
            graph.twin[position] = to_u32(forward);
            graph.twin[forward] = to_u32(position);
        }
        (graph, forward_position)
    }

    fn arcs_from(&self, node: usize) -> std::ops::Range<usize> {
        self.first_arc[node]..self.first_arc[node + 1]
    }

    /// Dijkstra from `source` over reduced costs; adds each node's distance, capped at the
    /// sink's, to its potential. The cap keeps every residual reduced cost non-negative (a
    /// node farther than the sink, or unreached, gains exactly the sink's distance) and lets
    /// the search stop as soon as the sink is settled. Returns false if the sink is unreachable.
    fn raise_potentials(&mut self, source: usize, sink: usize) -> bool {
        let mut distance = vec![UNREACHED; self.potential.len()];
        let mut settled = vec![false; self.potential.len()];
        let mut queue = BinaryHeap::new();
        distance[source] = 0;
        queue.push(Reverse((0i64, source as u32)));
        while let Some(Reverse((node_distance, node))) = queue.pop() {
            let node = node as usize;
            if settled[node] {
                continue;
            }
            settled[node] = true;
            if node == sink {
                break;
            }
            let base = node_distance + self.potential[node];
            for arc in self.arcs_from(node) {
                let head = self.head[arc] as usize;
                if self.residual[arc] == 0 || settled[head] {
                    continue;
                }
                let candidate = base + self.cost[arc] - self.potential[head];
                if candidate < distance[head] {
                    distance[head] = candidate;
                    queue.push(Reverse((candidate, head as u32)));
                }
            }
        }
        if !settled[sink] {
            return false;
        }
        let sink_distance = distance[sink];
        for (node, potential) in self.potential.iter_mut().enumerate() {
            let raise = if settled[node] {
                distance[node]
            } else {
                sink_distance
            };
            *potential += raise.min(sink_distance);
        }
        true
    }

    /// Whether `arc`, leaving a node of potential `tail_potential`, has room and a reduced
    /// cost of zero.
    fn is_admissible(&self, arc: usize, tail_potential: i64) -> bool {
        self.residual[arc] > 0
            && self.cost[arc] + tail_potential == self.potential[self.head[arc] as usize]
    }

    /// Dinic's algorithm restricted to admissible arcs. Returns the flow pushed.
    fn max_flow_on_admissible_arcs(&mut self, source: usize, sink: usize) -> u64 {
        let mut pushed = 0;
        while let Some(level) = self.admissible_levels(source, sink) {
            pushed += self.blocking_flow(source, sink, &level);
        }
        pushed
    }

    /// Breadth-first levels over admissible arcs, or `None` if the sink is not reached. Stops
    /// at the sink's level: nodes beyond it cannot be on a shortest path.
    fn admissible_levels(&self, source: usize, sink: usize) -> Option<Vec<i64>> {
        let mut level = vec![UNREACHED; self.potential.len()];
        let mut queue = VecDeque::new();
        level[source] = 0;
        queue.push_back(source);
        while let Some(node) = queue.pop_front() {
            if level[node] >= level[sink] {
                break;
            }
            let tail_potential = self.potential[node];
            for arc in self.arcs_from(node) {
                let head = self.head[arc] as usize;
                if level[head] == UNREACHED && self.is_admissible(arc, tail_potential) {
                    level[head] = level[node] + 1;
                    queue.push_back(head);
                }
            }
        }
        (level[sink] != UNREACHED).then_some(level)
    }

    /// Pushes a blocking flow along level-increasing admissible paths, found by an iterative
    /// depth-first search with a current-arc pointer per node (each arc is passed over once).
    fn blocking_flow(&mut self, source: usize, sink: usize, level: &[i64]) -> u64 {
        let mut next_arc: Vec<usize> = self.first_arc[..self.potential.len()].to_vec();
        let mut dead = vec![false; self.potential.len()];
        let mut path: Vec<usize> = Vec::new();
        let mut pushed = 0;
        let mut node = source;
        loop {
            if node == sink {
                pushed += self.augment(&path);
                // Retreat to the tail of the first arc the augmentation saturated.
                let saturated = path.iter().position(|&arc| self.residual[arc] == 0);
                path.truncate(saturated.unwrap_or(0));
                node = path.last().map_or(source, |&arc| self.head[arc] as usize);
                continue;
            }
            match self.next_level_arc(node, level, &dead, &mut next_arc) {
                Some(arc) => {
                    path.push(arc);
                    node = self.head[arc] as usize;
                }
                None => {
                    dead[node] = true;
                    let Some(arc) = path.pop() else { break };
                    node = self.head[self.twin[arc] as usize] as usize;
                    next_arc[node] += 1;
                }
            }
        }
        pushed
    }

    /// The first arc from `node`'s current pointer that leads one level up to a live node.
    fn next_level_arc(
        &self,
        node: usize,
        level: &[i64],
        dead: &[bool],
        next_arc: &mut [usize],
    ) -> Option<usize> {
        let end = self.first_arc[node + 1];
        let tail_potential = self.potential[node];
        while next_arc[node] < end {
            let arc = next_arc[node];
            let head = self.head[arc] as usize;
            if !dead[head]
                && level[head] == level[node] + 1
                && self.is_admissible(arc, tail_potential)
            {
                return Some(arc);
            }
            next_arc[node] += 1;
        }
        None
    }

    /// Pushes the path's bottleneck along it.
    fn augment(&mut self, path: &[usize]) -> u64 {
        let bottleneck = path
            .iter()
            .map(|&arc| self.residual[arc])
            .min()
            .unwrap_or(0);
        for &arc in path {
            self.residual[arc] -= bottleneck;
            self.residual[self.twin[arc] as usize] += bottleneck;
        }
        bottleneck
    }

    /// Nodes reachable from `source` through residual arcs: the source side of a minimum cut
    /// once no augmenting path is left.
    fn reachable_from(&self, source: usize) -> Vec<bool> {
        let mut reached = vec![false; self.potential.len()];
        let mut stack = vec![source];
        reached[source] = true;
        while let Some(node) = stack.pop() {
            for arc in self.arcs_from(node) {
                let head = self.head[arc] as usize;
                if self.residual[arc] > 0 && !reached[head] {
                    reached[head] = true;
                    stack.push(head);
                }
            }
        }
        reached
    }
}

/// Node and arc numbers fit in `u32`: a network of four billion arcs would not fit in memory
/// long before (each arc takes 28 bytes).
fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}
