import Foundation
import KubeTestServer
import Yams

/// Objects to store at start, from `kubectl get -o json` output (an object, an array or a List)
/// or YAML documents. Key order is kept, so what the server serves reads like the file.
enum SeedFile {
    static func load(_ path: String, into server: KubeTestServer) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw SetupError(message: "--seed \(path): cannot read the file") }
        let documents: [JSONValue]
        if let json = try? JSONValue.parse(Array(data)) {
            documents = [json]
        } else {
            do {
                documents = try Yams.compose_all(yaml: String(decoding: data, as: UTF8.self)).map(jsonValue)
            } catch {
                throw SetupError(message: "--seed \(path): neither JSON nor YAML: \(error)")
            }
        }
        var stored = 0
        for object in documents.flatMap(objects) {
            do {
                if object["kind"]?.stringValue == "Event" { try server.addEvent(object) } else { try server.put(object) }
                stored += 1
            } catch {
                throw SetupError(message: "--seed \(path): \(object["kind"]?.stringValue ?? "?")/\(object[path: ["metadata", "name"]]?.stringValue ?? "?"): \(error)")
            }
        }
        say("kate-dev-apiserver: seeded \(stored) objects from \(path)")
    }

    private static func objects(_ document: JSONValue) -> [JSONValue] {
        if let array = document.arrayValue { return array.flatMap(objects) }
        if document["kind"]?.stringValue?.hasSuffix("List") == true, let items = document["items"]?.arrayValue { return items }
        if document == .null { return [] }
        return [document]
    }

    static func jsonValue(_ node: Node) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            switch node.tag.description {
            case Tag.Name.null.rawValue: return .null
            case Tag.Name.bool.rawValue: return .bool(node.bool ?? false)
            case Tag.Name.int.rawValue: return node.int.map { .int($0) } ?? .string(scalar.string)
            case Tag.Name.float.rawValue: return node.float.map { .number(String($0)) } ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .mapping(let mapping):
            return .object(mapping.map { (key, value) in (key.string ?? "\(key)", jsonValue(value)) })
        case .sequence(let sequence):
            return .array(sequence.map(jsonValue))
        case .alias:
            return .null
        }
    }
}
