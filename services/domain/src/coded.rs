//! The two declarations behind every value that travels as text: a closed list of stable
//! codes ([`coded_enum!`]) and the standard parsing traits of a type that has a `parse`
//! ([`parse_traits!`]).
//!
//! A coded list (statuses, steps, reasons, regimes, tracks) is written once, one variant and
//! its code a line; the macro derives `ALL`, `code()`, `parse()`, `Display`, `FromStr` and
//! `TryFrom<&str>` from that line, so a list and its codes cannot drift apart. Each list keeps
//! its own module's typed error for an unknown code. The macros are crate-private: the types
//! they declare are ordinary public enums and traits.

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
        unknown: $error:ty = $unknown:expr $(,)?
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

            /// Parses a stable code (exact, upper case).
            pub fn parse(text: &str) -> Result<Self, $error> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.code() == text)
                    .ok_or_else(|| ($unknown)(text.to_owned()))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.code())
            }
        }

        $crate::coded::parse_traits!($name, $error);
    };
}

pub(crate) use {coded_enum, parse_traits};
