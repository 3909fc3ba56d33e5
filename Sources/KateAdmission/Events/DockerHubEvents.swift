import KateNet

/// Docker Hub repository webhooks: `push_data.tag` and `repository.repo_name` (`svendowideit/testhook`).
/// The payload names no host (it is always Docker Hub), no digest and no event id; Docker Hub
/// cannot sign or add headers, so it authenticates with the token in the URL (`?token=`).
/// https://docs.docker.com/docker-hub/repos/manage/webhooks/
enum DockerHubEvents: RegistryEventFormat {
    static let name = "dockerhub"

    static func matches(_ payload: JSONObject) -> Bool { payload.object("push_data") != nil && payload.object("repository") != nil }

    static func pushes(in payload: JSONObject, request: HTTPRequest) throws(RegistryEventError) -> RegistryEvents {
        guard let repository = payload.object("repository")?.string("repo_name"), !repository.isEmpty else {
            throw .malformed(format: name, "repository.repo_name is missing")
        }
        var result = RegistryEvents(format: name)
        let tag = payload.object("push_data")?.string("tag") ?? ""
        result.add { () throws(RegistryEventError) in
            try RegistryPush.make(format: name, host: nil, repository: repository, tag: tag, digest: nil, eventID: nil)
        }
        return result
    }
}
