/// The two PATCH flavours kate sends, applied as the apiserver applies them to built-in kinds.
enum Patching {
    /// RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, anything else replaces.
    static func mergePatch(_ target: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard case .object(let patchMembers) = patch else { return patch }
        var result: JSONValue = target.objectValue != nil ? target : .object([])
        for (key, value) in patchMembers {
            if value == .null {
                result[key] = nil
            } else {
                result[key] = mergePatch(result[key] ?? .null, value)
            }
        }
        return result
    }

    /// Strategic merge patch, the subset built-in kinds need for kate's patches: maps merge as in
    /// a merge patch; lists of objects that carry `name` (containers, env, volumes) merge by name
    /// instead of being replaced; `$`-prefixed directives are ignored.
    static func strategicMergePatch(_ target: JSONValue, _ patch: JSONValue) -> JSONValue {
        switch patch {
        case .object(let patchMembers):
            var result: JSONValue = target.objectValue != nil ? target : .object([])
            for (key, value) in patchMembers where !key.hasPrefix("$") {
                if value == .null {
                    result[key] = nil
                } else {
                    result[key] = strategicMergePatch(result[key] ?? .null, value)
                }
            }
            return result
        case .array(let patchElements):
            guard case .array(var targetElements) = target, patchElements.allSatisfy({ $0["name"]?.stringValue != nil }),
                  targetElements.allSatisfy({ $0["name"]?.stringValue != nil })
            else { return patch }
            for element in patchElements {
                let name = element["name"]?.stringValue
                if let index = targetElements.firstIndex(where: { $0["name"]?.stringValue == name }) {
                    targetElements[index] = strategicMergePatch(targetElements[index], element)
                } else {
                    targetElements.append(element)
                }
            }
            return .array(targetElements)
        default:
            return patch
        }
    }
}
