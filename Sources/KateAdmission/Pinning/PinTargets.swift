import KateKube

/// The lists of a PodSpec that name images: the three container lists and the image volumes,
/// named as their JSON fields (which are also the JSON Patch path segments).
public enum ContainerList: String, Sendable, CaseIterable {
    case containers, initContainers, ephemeralContainers
    /// `volumes[].image.reference` (image volumes, Kubernetes 1.31+).
    case volumes

    /// How a message names an entry of this list.
    public var noun: String {
        switch self {
        case .containers: "container"
        case .initContainers: "init container"
        case .ephemeralContainers: "ephemeral container"
        case .volumes: "image volume"
        }
    }
}

/// One image kate may pin: where it sits (for the patch path) and what it is.
public struct ContainerSlot: Sendable, Equatable {
    public var list: ContainerList
    public var index: Int
    public var name: String
    public var image: String

    /// `/spec/initContainers/1/image`, `/spec/volumes/3/image/reference`
    public var imagePath: String {
        list == .volumes ? "/spec/volumes/\(index)/image/reference" : "/spec/\(list.rawValue)/\(index)/image"
    }

    /// The key of this image in `kate.dev/original-images` and in UPDATE comparisons: the
    /// container name, or `volume/<name>` for an image volume (container and volume names are
    /// separate namespaces; neither may contain `/`).
    public var key: String { list == .volumes ? "volume/" + name : name }
}

public enum PinTargets {
    /// Every container of `spec` with a non-empty image, then every image volume, in document order.
    public static func allSlots(_ spec: PodSpec) -> [ContainerSlot] {
        slots(spec.containers, .containers) + slots(spec.initContainers ?? [], .initContainers)
            + slots(spec.ephemeralContainers ?? [], .ephemeralContainers) + imageVolumeSlots(spec.volumes ?? [])
    }

    private static func imageVolumeSlots(_ volumes: [Volume]) -> [ContainerSlot] {
        volumes.enumerated().compactMap { index, volume in
            guard let image = volume.image?.reference, !image.isEmpty else { return nil }
            return ContainerSlot(list: .volumes, index: index, name: volume.name, image: image)
        }
    }

    /// The containers a review may pin: all of them on Pod CREATE; on UPDATE of the
    /// `ephemeralcontainers` subresource (kubectl debug) only ephemeral containers whose name is
    /// new against `oldObject`, since existing ones may not change. Nothing otherwise: changing
    /// an image on a running pod's UPDATE would restart its container.
    public static func slots(for request: AdmissionRequest) -> [ContainerSlot] {
        guard let pod = request.object else { return [] }
        switch (request.operation, request.subResource ?? "") {
        case ("CREATE", ""):
            return allSlots(pod.spec)
        case ("UPDATE", "ephemeralcontainers"):
            let existing = Set((request.oldObject?.spec.ephemeralContainers ?? []).map(\.name))
            return slots(pod.spec.ephemeralContainers ?? [], .ephemeralContainers).filter { !existing.contains($0.name) }
        default:
            return []
        }
    }

    private static func slots(_ containers: [Container], _ list: ContainerList) -> [ContainerSlot] {
        containers.enumerated().compactMap { index, container in
            guard let image = container.image, !image.isEmpty else { return nil }
            return ContainerSlot(list: list, index: index, name: container.name, image: image)
        }
    }
}
