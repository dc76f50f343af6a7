//! FHIR data types -> v2 data types: the IG data type maps
//! (CWE[CodeableConcept], CX[Identifier], XPN[HumanName], XAD[Address],
//! XTN[ContactPoint], XCN, DTM) read in reverse. Each function says what
//! its v2 type cannot hold, through the context's report.

mod code;
mod date;
mod ident;
mod person;
mod quantity;

pub use code::{code_in, coding_system, cwe, table_code};
pub use date::{dtm, dtm_at, dtm_of, tm};
pub use ident::{cx, ei, hd, typed};
pub use person::{xad, xcn, xon, xpn, xtn};
pub use quantity::{number, units};

#[cfg(test)]
mod tests {
    use super::person::is_tn;
    use super::*;

    #[test]
    fn fhir_dates_to_dtm() {
        assert_eq!(dtm("2024").as_deref(), Some("2024"));
        assert_eq!(dtm("2024-02").as_deref(), Some("202402"));
        assert_eq!(dtm("2024-02-03").as_deref(), Some("20240203"));
        assert_eq!(
            dtm("2024-02-03T04:05:06Z").as_deref(),
            Some("20240203040506+0000")
        );
        assert_eq!(
            dtm("2024-02-03T04:05:06.12345-05:30").as_deref(),
            Some("20240203040506.1234-0530")
        );
        assert_eq!(dtm("2024-02-03T04:05").as_deref(), Some("202402030405"));
        for bad in [
            "",
            "24-01-01",
            "2024-1-01",
            "2024-01T10:00",
            "2024-01-01T1:00",
            "x",
        ] {
            assert_eq!(dtm(bad), None, "{bad}");
        }
        assert_eq!(tm("10:20:30").as_deref(), Some("102030"));
        assert_eq!(tm("1:2"), None);
    }

    #[test]
    fn tn_form() {
        for ok in [
            "555-1234",
            "(555)555-1234",
            "01 (555)555-1234X12",
            "5551234B1",
            "555-1234Cafter 5",
        ] {
            assert!(is_tn(ok), "{ok}");
        }
        for bad in [
            "+31 6 1234",
            "(03) 5555 6473",
            "abc",
            "5",
            "(5-1",
            "555-1234X",
        ] {
            assert!(!is_tn(bad), "{bad}");
        }
    }
}
