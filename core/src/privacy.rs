//! Masking personal data for screens and lists where the viewer has no right to it.

/// A phone number with its middle hidden: the first 3 and the last 4 characters kept
/// (`138****1234`); short ones hidden whole.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len().max(4));
    }
    let (head, tail) = (&chars[..3], &chars[chars.len() - 4..]);
    format!("{}{}{}", head.iter().collect::<String>(), "*".repeat(chars.len() - 7), tail.iter().collect::<String>())
}

/// A person's name with all but the family name hidden (`王建国` → `王**`).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_phone("13805361234"), "138****1234");
        assert_eq!(mask_phone("12345"), "*****");
        assert_eq!(mask_name("王建国"), "王**");
        assert_eq!(mask_name("李"), "李*");
        assert_eq!(mask_name(""), "");
    }
}
