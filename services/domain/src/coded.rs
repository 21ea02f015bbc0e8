//! The declarations behind every value that travels as text: a closed list of stable codes
//! ([`coded_enum!`]), a lifecycle's event kinds with their payload-free steps
//! ([`event_kinds!`]), and the standard parsing traits of a type that has a `parse`
//! ([`parse_traits!`]).
//!
//! A coded list (statuses, steps, reasons, regimes, tracks) is written once, one variant and
//! its code a line; the macro derives `ALL`, `code()`, `Display` and, where the list has a
//! typed error for an unknown code, `parse()`, `FromStr` and `TryFrom<&str>`, so a list and
//! its codes cannot drift apart. An event kind and its step share their variant names, so
//! `step()` is derived too. The macros are crate-private: what they declare are ordinary
//! public enums, methods and trait implementations.

/// A text that is none of the codes of a list: what every coded list's `parse` refuses with,
/// directly (the reason lists) or inside its module's `Error` (statuses, steps, causes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a known {list} code")]
pub struct UnknownCode {
    /// Which list of codes was searched, e.g. `readmission reason`.
    pub list: &'static str,
    /// The text that matched nothing.
    pub text: String,
}

impl UnknownCode {
    /// The refusal of `text` by the list named `list`.
    pub(crate) fn new(list: &'static str, text: String) -> Self {
        Self { list, text }
    }
}

/// Implements `FromStr` and `TryFrom<&str>` for `$name` through its `parse(&str)`, with the
/// same error: one spelling of the parsing rules, whichever way a caller asks.
macro_rules! parse_traits {
    ($name:ty, $error:ty) => {
        impl ::std::str::FromStr for $name {
            type Err = $error;
            fn from_str(text: &str) -> Result<Self, $error> {
                Self::parse(text)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = $error;
            fn try_from(text: &str) -> Result<Self, $error> {
                Self::parse(text)
            }
        }
    };
}

/// Declares a fieldless enum whose variants each stand for one stable code, with `ALL` (every
/// variant, in declaration order, as an array or, for the reason lists, a slice), `code()`,
/// `parse()` (exact; an unknown text becomes `unknown(text)`), `Display` (the code) and the
/// [`parse_traits!`].
macro_rules! coded_enum {
    (@all array $name:ident [$($variant:ident)+]) => {
        /// Every value, in declaration order.
        pub const ALL: [$name; [$(stringify!($variant)),+].len()] = [$($name::$variant),+];
    };
    (@all slice $name:ident [$($variant:ident)+]) => {
        /// Every value, in declaration order.
        pub const ALL: &'static [$name] = &[$($name::$variant),+];
    };
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident => $code:literal, )+
        }
        all: $all:ident,
        $( unknown: $error:ty = $unknown:expr, )?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            $crate::coded::coded_enum!(@all $all $name [$($variant)+]);

            /// The stable code, as sent on the wire, stored and signed.
            pub fn code(self) -> &'static str {
                match self {
                    $( $name::$variant => $code, )+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.code())
            }
        }

        $(
            impl $name {
                /// Parses a stable code (exact, upper case).
                pub fn parse(text: &str) -> Result<Self, $error> {
                    Self::ALL
                        .iter()
                        .copied()
                        .find(|value| value.code() == text)
                        .ok_or_else(|| ($unknown)(text.to_owned()))
                }
            }

            $crate::coded::parse_traits!($name, $error);
        )?
    };
}

/// Declares a lifecycle's event kinds (each variant with the payload its step needs) and their
/// payload-free twin, the step, as a [`coded_enum!`] of the same variant names: written once,
/// so that `step()` and the step list cannot miss a kind.
macro_rules! event_kinds {
    (
        $(#[$kind_meta:meta])*
        pub enum $kind:ident;
        $(#[$step_meta:meta])*
        pub enum $step:ident;
        $( unknown: $error:ty = $unknown:expr; )?
        {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident $({ $( $(#[$field_meta:meta])* $field:ident: $field_type:ty, )+ })?
                    => $code:literal,
            )+
        }
    ) => {
        $(#[$kind_meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $kind {
            $(
                $(#[$variant_meta])*
                $variant $({ $( $(#[$field_meta])* $field: $field_type, )+ })?,
            )+
        }

        $crate::coded::coded_enum! {
            $(#[$step_meta])*
            pub enum $step {
                $( $variant => $code, )+
            }
            all: array,
            $( unknown: $error = $unknown, )?
        }

        impl $kind {
            /// The payload-free step.
            pub fn step(&self) -> $step {
                match self {
                    $( Self::$variant { .. } => $step::$variant, )+
                }
            }
        }
    };
}

pub(crate) use {coded_enum, event_kinds, parse_traits};
