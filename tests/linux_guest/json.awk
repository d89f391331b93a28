# Flattens one JSON document into path=value lines: object members by key, array items by index,
# e.g. `networks.0.routes.0.gateway=10.0.0.1`, `public_keys.mykey=ssh-ed25519 AAAA... me@laptop`.
# Enough of a parser for the config drive's meta_data.json and network_data.json (busybox awk).
# Strings keep \uXXXX escapes as written; a newline inside a string is printed as \n.
{ text = text $0 "\n" }

END {
    pos = 1
    value("")
}

function skip_space() {
    while (pos <= length(text) && index(" \t\r\n", substr(text, pos, 1)))
        pos++
}

function value(path,    c, key, i) {
    skip_space()
    c = substr(text, pos, 1)
    if (c == "{") {
        pos++
        skip_space()
        if (substr(text, pos, 1) == "}") { pos++; return }
        while (pos <= length(text)) {
            skip_space()
            key = string()
            skip_space()
            pos++  # the colon
            value(path == "" ? key : path "." key)
            skip_space()
            c = substr(text, pos++, 1)
            if (c != ",") return
        }
    } else if (c == "[") {
        pos++
        skip_space()
        if (substr(text, pos, 1) == "]") { pos++; return }
        for (i = 0; pos <= length(text); i++) {
            value(path == "" ? i : path "." i)
            skip_space()
            c = substr(text, pos++, 1)
            if (c != ",") return
        }
    } else if (c == "\"") {
        print path "=" string()
    } else if (match(substr(text, pos), /^[-+0-9.eEa-z]+/)) {  # number, true, false, null
        print path "=" substr(text, pos, RLENGTH)
        pos += RLENGTH
    } else {
        pos = length(text) + 1  # not JSON: stop
    }
}

function string(    out, c) {
    out = ""
    pos++  # the opening quote
    while (pos <= length(text)) {
        c = substr(text, pos++, 1)
        if (c == "\"") return out
        if (c == "\\") {
            c = substr(text, pos++, 1)
            if (c == "n") c = "\\n"
            else if (c == "t") c = "\t"
            else if (c == "r" || c == "b" || c == "f") c = ""
            else if (c == "u") c = "\\u"
        }
        out = out c
    }
    return out
}
