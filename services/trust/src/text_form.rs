//! The text form shared by the crate's parsed newtypes ([`crate::pki::Serial`],
//! [`crate::OperatorName`]): `Display` is the canonical text, `parse` reads it back.
//!
//! `text_form!` writes the two trait impls that follow from that, so each type states only
//! its own `Display` and `parse`. It is a macro because trait impls cannot come from a
//! function; it adds nothing else.

/// Implements `Debug` as `Name(<Display>)` and `FromStr` through `Name::parse`, whose error
/// type must be the module's `Error`.
macro_rules! text_form {
    ($name:ident) => {
        impl std::fmt::Debug for $name {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(formatter, "{}({self})", stringify!($name))
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(text: &str) -> Result<Self, Error> {
                Self::parse(text)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::OperatorName;
    use crate::pki::Serial;

    #[test]
    fn debug_wraps_the_text_in_the_type_name_and_from_str_reads_the_text_back() {
        let serial: Serial = "0a:ff".parse().unwrap();
        assert_eq!(format!("{serial:?}"), "Serial(0aff)");
        assert!("xyz".parse::<Serial>().is_err());
        let operator: OperatorName = "alice".parse().unwrap();
        assert_eq!(format!("{operator:?}"), "OperatorName(alice)");
        assert!("Alice".parse::<OperatorName>().is_err());
    }
}
