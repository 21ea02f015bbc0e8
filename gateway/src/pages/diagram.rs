//! The flow diagram of a round's report, as numbers an inline SVG template draws: each
//! state a circle on a ring, each instruction one arrow from its origin state to its
//! admitting state (people move that way), its width scaled by its count against the
//! round's largest, redirected ones dashed. Arrows curve to one side, so the two directions
//! of a pair never overlap. Geometry only: what the figures are is the report's.

use crate::json::settlement::Instruction;

/// The drawing's width, in SVG user units.
pub const WIDTH: u32 = 760;
/// The drawing's height.
pub const HEIGHT: u32 = 440;
/// A state's circle's radius.
pub const NODE_RADIUS: f64 = 26.0;
/// The ring's radius the states sit on.
const RING_RADIUS: f64 = 170.0;
/// The narrowest and widest arrow.
const STROKE_MIN: f64 = 2.0;
const STROKE_MAX: f64 = 12.0;
/// How far an arrow bows out of the straight line, as a fraction of its length.
const BOW: f64 = 0.18;

/// A state on the ring.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The state's code.
    pub state: String,
    /// Its centre.
    pub x: String,
    /// Its centre.
    pub y: String,
}

/// One instruction's arrow.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrow {
    /// `ORIGIN-ADMITTING`: which instruction it draws.
    pub instruction: String,
    /// The SVG path.
    pub path: String,
    /// The stroke's width.
    pub width: String,
    /// Drawn dashed: a redirected admission.
    pub redirected: bool,
    /// The label's place, at the curve's middle.
    pub label_x: String,
    /// The label's place.
    pub label_y: String,
    /// How many people.
    pub count: u32,
}

/// The diagram.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagram {
    /// The states.
    pub nodes: Vec<Node>,
    /// The arrows, one per instruction, in the report's order.
    pub arrows: Vec<Arrow>,
}

/// The diagram of `instructions` between `states` (every state an instruction names is drawn,
/// listed or not).
pub fn draw(states: &[String], instructions: &[Instruction]) -> Diagram {
    let mut all: Vec<String> = states.to_vec();
    for instruction in instructions {
        all.push(instruction.admitting_state.clone());
        all.push(instruction.origin_state.clone());
    }
    all.sort();
    all.dedup();
    let places: Vec<(f64, f64)> = (0..all.len())
        .map(|index| place(index, all.len()))
        .collect();
    let at = |state: &str| {
        all.iter()
            .position(|known| known == state)
            .map_or((0.0, 0.0), |index| places[index])
    };
    let largest = instructions
        .iter()
        .map(|instruction| instruction.count)
        .max()
        .unwrap_or(1)
        .max(1);
    let arrows = instructions
        .iter()
        .map(|instruction| {
            let from = at(&instruction.origin_state);
            let to = at(&instruction.admitting_state);
            arrow(instruction, from, to, largest)
        })
        .collect();
    let nodes = all
        .iter()
        .zip(&places)
        .map(|(state, (x, y))| Node {
            state: state.clone(),
            x: number(*x),
            y: number(*y),
        })
        .collect();
    Diagram { nodes, arrows }
}

/// The centre of state `index` of `count` on the ring, the first at the top.
fn place(index: usize, count: usize) -> (f64, f64) {
    let centre = (f64::from(WIDTH) / 2.0, f64::from(HEIGHT) / 2.0);
    if count <= 1 {
        return centre;
    }
    let turn = std::f64::consts::TAU * index as f64 / count as f64 - std::f64::consts::FRAC_PI_2;
    (
        centre.0 + RING_RADIUS * turn.cos(),
        centre.1 + RING_RADIUS * turn.sin(),
    )
}

fn arrow(instruction: &Instruction, from: (f64, f64), to: (f64, f64), largest: u32) -> Arrow {
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    let length = (dx * dx + dy * dy).sqrt().max(1.0);
    let (ux, uy) = (dx / length, dy / length);
    // Start and end at the circles' edges (the end a little before, for the arrowhead).
    let start = (from.0 + ux * NODE_RADIUS, from.1 + uy * NODE_RADIUS);
    let end = (
        to.0 - ux * (NODE_RADIUS + 6.0),
        to.1 - uy * (NODE_RADIUS + 6.0),
    );
    // Bow to the left of the direction of travel: the reverse arrow bows the other way.
    let control = (
        (from.0 + to.0) / 2.0 + uy * BOW * length,
        (from.1 + to.1) / 2.0 - ux * BOW * length,
    );
    let middle = (
        (start.0 + 2.0 * control.0 + end.0) / 4.0,
        (start.1 + 2.0 * control.1 + end.1) / 4.0,
    );
    let width =
        STROKE_MIN + (STROKE_MAX - STROKE_MIN) * f64::from(instruction.count) / f64::from(largest);
    Arrow {
        instruction: format!(
            "{}-{}",
            instruction.origin_state, instruction.admitting_state
        ),
        path: format!(
            "M {} {} Q {} {} {} {}",
            number(start.0),
            number(start.1),
            number(control.0),
            number(control.1),
            number(end.0),
            number(end.1)
        ),
        width: number(width),
        redirected: instruction.redirected,
        label_x: number(middle.0),
        label_y: number(middle.1),
        count: instruction.count,
    }
}

/// A coordinate with one decimal.
fn number(value: f64) -> String {
    format!("{value:.1}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instruction(admitting: &str, origin: &str, count: u32, redirected: bool) -> Instruction {
        Instruction {
            admitting_state: admitting.to_owned(),
            origin_state: origin.to_owned(),
            count,
            redirected,
            perform_by: None,
        }
    }

    #[test]
    fn one_arrow_per_instruction_widest_for_the_largest_count() {
        let diagram = draw(
            &["DE".to_owned(), "FR".to_owned(), "GB".to_owned()],
            &[
                instruction("FR", "GB", 3, false),
                instruction("GB", "FR", 1, false),
                instruction("DE", "IT", 1, true),
            ],
        );
        assert_eq!(diagram.nodes.len(), 4, "IT is drawn though not listed");
        let names: Vec<&str> = diagram
            .arrows
            .iter()
            .map(|a| a.instruction.as_str())
            .collect();
        assert_eq!(names, ["GB-FR", "FR-GB", "IT-DE"]);
        assert_eq!(diagram.arrows[0].width, "12.0");
        assert_eq!(diagram.arrows[1].width, "5.3");
        assert!(diagram.arrows[2].redirected);
        assert_ne!(diagram.arrows[0].path, diagram.arrows[1].path);
    }
}
