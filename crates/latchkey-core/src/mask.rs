//! Masked contact data for hints: enough for the owner to recognise (`j•••@contoso.com`,
//! `+1 ••• ••• ••12`), too little for anyone else to learn the address or number.

const DOT: char = '•';

/// Masks an email address: the first character of the local part, three dots, the domain.
pub fn email(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().map(String::from).unwrap_or_default();
            format!("{first}{DOT}{DOT}{DOT}@{domain}")
        }
        None => format!("{DOT}{DOT}{DOT}"),
    }
}

/// Masks a phone number: the country code (when written with `+`) and the last two digits stay.
pub fn phone(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let international = number.trim_start().starts_with('+');
    // Country codes starting with 1 (NANP) or 7 are one digit long; the rest are shown as two.
    let cc_len = match (international, digits.first()) {
        (false, _) | (true, None) => 0,
        (true, Some('1' | '7')) => 1,
        (true, Some(_)) => 2,
    };
    let cc_len = cc_len.min(digits.len());
    let (cc, rest) = digits.split_at(cc_len);
    let keep = rest.len().min(2);
    let hidden = rest.len() - keep;
    let mut masked: Vec<char> = std::iter::repeat_n(DOT, hidden).collect();
    masked.extend(&rest[hidden..]);
    // Group in threes from the left, the last group taking up to four (`••• ••• ••12`), as
    // people read most national numbers.
    let mut groups: Vec<String> = Vec::new();
    let mut rest_chars: &[char] = &masked;
    while rest_chars.len() > 4 {
        let (head, tail) = rest_chars.split_at(3);
        groups.push(head.iter().collect());
        rest_chars = tail;
    }
    if !rest_chars.is_empty() {
        groups.push(rest_chars.iter().collect());
    }
    let body = groups.join(" ");
    if cc.is_empty() {
        body
    } else {
        format!("+{} {body}", cc.iter().collect::<String>())
            .trim_end()
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn emails() {
        for (input, want) in [
            ("john@contoso.com", "j•••@contoso.com"),
            ("a@b.org", "a•••@b.org"),
            ("weird", "•••"),
            ("é@x.fr", "é•••@x.fr"),
        ] {
            assert_eq!(super::email(input), want, "{input}");
        }
    }

    #[test]
    fn phones() {
        for (input, want) in [
            ("+1 425 555 0112", "+1 ••• ••• ••12"),
            ("+44 20 7946 0958", "+44 ••• ••• ••58"),
            ("0612345678", "••• ••• ••78"),
            ("555 0199", "••• ••99"),
            ("+1", "+1"),
        ] {
            assert_eq!(super::phone(input), want, "{input}");
        }
    }
}
