//! Identifier checks (docs/codes.md "Identifier checks"): NHS number mod 11, UPN check letter.
use crate::error::{AppError, AppResult};

const UPN_LETTERS: &[u8; 23] = b"ABCDEFGHJKLMNPQRTUVWXYZ";

/// A valid NHS number, as its 10 digits (spaces and hyphens allowed in the input).
pub fn nhs_number(field: &str, input: &str) -> AppResult<String> {
    let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let invalid = || {
        AppError::bad_input(
            field,
            "not a valid NHS number (10 digits with a mod 11 check digit)",
        )
    };
    if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let values: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum: u32 = values[..9]
        .iter()
        .zip((2..=10).rev())
        .map(|(v, w)| v * w)
        .sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        10 => return Err(invalid()),
        c => c,
    };
    if check == values[9] {
        Ok(digits)
    } else {
        Err(invalid())
    }
}

/// A valid Unique Pupil Number (13 characters, check letter first), upper-cased.
pub fn upn(field: &str, input: &str) -> AppResult<String> {
    let upn = input.trim().to_uppercase();
    let invalid =
        || AppError::bad_input(field, "not a valid UPN (13 characters with a check letter)");
    let bytes = upn.as_bytes();
    if bytes.len() != 13 || !bytes[1..12].iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let value = |i: usize| -> Option<u32> {
        let b = bytes[i];
        if b.is_ascii_digit() {
            Some(u32::from(b - b'0'))
        } else if i == 12 {
            UPN_LETTERS.iter().position(|l| *l == b).map(|p| p as u32)
        } else {
            None
        }
    };
    let mut sum = 0;
    for i in 1..13 {
        sum += value(i).ok_or_else(invalid)? * (i as u32 + 1);
    }
    if bytes[0] == UPN_LETTERS[(sum % 23) as usize] {
        Ok(upn)
    } else {
        Err(invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs_numbers() {
        assert_eq!(nhs_number("f", "943 476 5919").unwrap(), "9434765919");
        assert!(nhs_number("f", "4010232137").is_ok());
        assert!(nhs_number("f", "9434765918").is_err());
        assert!(nhs_number("f", "12345").is_err());
    }

    #[test]
    fn upns() {
        for good in ["B801200005001", "A950000178301", "H243278544154"] {
            assert!(upn("f", good).is_ok(), "{good}");
        }
        for bad in [
            "A801200005001",
            "R247962919251",
            "X428558133462",
            "B80120000500",
        ] {
            assert!(upn("f", bad).is_err(), "{bad}");
        }
    }
}
