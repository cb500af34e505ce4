"""The TS-API message catalogue: texts by `lang` (spec 004 language codes such as `en-US`, `es-ES`).

`text(key, lang)` looks up the exact language, then its primary subtag (`es` for `es-MX`), then
English. `lang_of(request)` reads the `lang` parameter (no parameter: the server's language,
English). `translate(message, lang)` turns an English message of `common.py` into the language."""

from __future__ import annotations

from starlette.requests import Request

DEFAULT = "en-US"

CATALOGUE: dict[str, dict[str, str]] = {
    "en-US": {
        "auth_required": "Authentication required.",
        "wrong_credentials": "Wrong user or password.",
        "admin_required": "Administrator rights required.",
        "right_required": "The {right} right is required.",
        "signed_in": "Signed in.",
        "signed_out": "Signed out.",
        "not_signed_in": "Not signed in.",
        "cross_site": "Sign-in and sign-out are refused from another site's page.",
        "unknown_item": "Unknown item: {item}. Supported: {supported}.",
        "no_item": "Say what to request: {supported}.",
        "bad_param": "Invalid value for {name}: {value}.",
        "not_supported": "{what} is not supported by platehub.",
        "restart_unsupported": "platehub does not restart or reboot its host; use the service manager.",
        "smart_unsupported": "Not supported",
        # event log types and codes (protocols/tsapi/eventlog.py)
        "type.system": "System log",
        "type.privacy": "Privacy",
        "type.settings": "Settings",
        "type.device": "LPR device",
        "type.emergency": "Emergency call",
        "code.system.startup": "System startup",
        "code.system.shutdown": "System shutdown",
        "code.privacy.signIn": "Sign in",
        "code.privacy.signOut": "Sign out",
        "code.privacy.erased": "Vehicle data erased",
        "code.settings.changed": "Settings changed",
        "code.device.online": "Device connected",
        "code.device.offline": "Device disconnected",
        "code.device.moved": "Device address changed",
        "code.device.refused": "Device message refused",
        "code.emergency.callStart": "Emergency call started",
        "code.emergency.callEnd": "Emergency call ended",
        "type.access": "Access control",
        "code.access.denied": "Deny-list vehicle",
        "code.access.unknown": "Unknown vehicle",
        "type.parking": "Parking",
        "code.parking.full": "Parking lot over capacity",
        # channel status codes (protocols/tsapi/channelcodec.py; the guide's texts, its 2 "Video available")
        "channel.rebooting": "On rebooting",
        "channel.reconnecting": "On reconnecting",
        "channel.connecting": "On connecting",
        "channel.loading": "Loading",
        "channel.not_used": "Not used",
        "channel.no_response": "No response",
        "channel.used": "Used",
        "channel.has_video": "Video available",
        "channel.connected": "Connected",
        "channel.login_failed": "Camera login failed",
        "channel.blocked": "Camera blocked",
        "channel.no_network": "No network connection",
        "channel.timeout": "Camera response timeout",
        "channel.no_video": "No video input",
        "channel.service_failure": "Camera service failure",
        "channel.playback_complete": "Playback complete",
        "channel.no_file": "No file found",
        # device control (/api/channel/ptz …) and channel changes (POST/DELETE /api/channel)
        "control.success": "Success",
        "control.no_right": "No user rights",
        "control.unsupported": "Features not supported by the device",
        "control.bad_channel": "Invalid channel",
        "control.bad_request": "Invalid request",
        "channels.added": "Channels were added successfully.",
        "channels.some_added": "Only some channels have been added.",
        "channels.none_added": "Channels cannot be added.",
        "channels.deleted": "Channels were deleted successfully.",
        "channels.some_deleted": "Only some channels have been deleted.",
        "channels.none_deleted": "Channels cannot be deleted.",
        "channels.no_channel": "No channel number was given.",
    },
    "es-ES": {
        "auth_required": "Se requiere autenticación.",
        "wrong_credentials": "Usuario o contraseña incorrectos.",
        "admin_required": "Se requieren derechos de administrador.",
        "right_required": "Se requiere el derecho {right}.",
        "signed_in": "Sesión iniciada.",
        "signed_out": "Sesión cerrada.",
        "not_signed_in": "No hay sesión iniciada.",
        "cross_site": "No se inicia ni se cierra sesión desde la página de otro sitio.",
        "unknown_item": "Elemento desconocido: {item}. Admitidos: {supported}.",
        "no_item": "Indique qué solicitar: {supported}.",
        "bad_param": "Valor no válido para {name}: {value}.",
        "not_supported": "platehub no admite {what}.",
        "restart_unsupported": "platehub no reinicia su equipo; use el gestor de servicios.",
        "smart_unsupported": "No admitido",
        "type.system": "Registro del sistema",
        "type.privacy": "Privacidad",
        "type.settings": "Configuración",
        "type.device": "Dispositivo LPR",
        "type.emergency": "Llamada de emergencia",
        "code.system.startup": "Inicio del sistema",
        "code.system.shutdown": "Apagado del sistema",
        "code.privacy.signIn": "Iniciar sesión",
        "code.privacy.signOut": "Cerrar sesión",
        "code.privacy.erased": "Datos de vehículo borrados",
        "code.settings.changed": "Configuración cambiada",
        "code.device.online": "Dispositivo conectado",
        "code.device.offline": "Dispositivo desconectado",
        "code.device.moved": "Dirección del dispositivo cambiada",
        "code.device.refused": "Mensaje del dispositivo rechazado",
        "code.emergency.callStart": "Llamada de emergencia iniciada",
        "code.emergency.callEnd": "Llamada de emergencia terminada",
        "type.access": "Control de acceso",
        "code.access.denied": "Vehículo en lista negra",
        "code.access.unknown": "Vehículo desconocido",
        "type.parking": "Estacionamiento",
        "code.parking.full": "Estacionamiento por encima de su capacidad",
        "channel.reconnecting": "Reconectando",
        "channel.connecting": "Conectando",
        "channel.not_used": "No utilizado",
        "channel.has_video": "Vídeo disponible",
        "channel.connected": "Conectado",
        "channel.no_network": "Sin conexión de red",
        "channel.timeout": "La cámara no responde",
        "channel.no_video": "Sin entrada de vídeo",
        "control.success": "Correcto",
        "control.no_right": "Sin derechos de usuario",
        "control.unsupported": "Función no admitida por el dispositivo",
        "control.bad_channel": "Canal no válido",
    },
}

_PRIMARY = {lang.split("-")[0].lower(): lang for lang in CATALOGUE}
_ENGLISH = {text: key for key, text in CATALOGUE[DEFAULT].items() if "{" not in text}


def resolve(lang: str | None) -> str:
    """The catalogue language used for `lang` (English when there is no better match)."""
    if not lang:
        return DEFAULT
    for known in CATALOGUE:
        if known.lower() == lang.strip().lower():
            return known
    return _PRIMARY.get(lang.strip().split("-")[0].split("_")[0].lower(), DEFAULT)


def text(key: str, lang: str | None = None, **values: object) -> str:
    template = CATALOGUE[resolve(lang)].get(key) or CATALOGUE[DEFAULT].get(key, key)
    return template.format(**values) if values else template


def lang_of(request: Request) -> str:
    return resolve(request.query_params.get("lang"))


def translate(message: str, lang: str | None) -> str:
    """An English catalogue message in `lang`; other messages are returned unchanged."""
    key = _ENGLISH.get(message)
    if key is None and message.startswith("The ") and message.endswith(" right is required."):
        return text("right_required", lang, right=message[4:-len(" right is required.")])
    return text(key, lang) if key else message
