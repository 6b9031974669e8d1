"""What `/encuestas` says: its Spanish texts and buttons, and the flow's name."""

FLOW = "encuesta"
PER_PAGE = 8
LIST = (
    "📝 <b>Encuestas abiertas</b>\nElija una para responderla. Al terminar verá los "
    "resultados, cuando haya al menos {minimum}."
)
NONE_OPEN = (
    "📝 No hay encuestas abiertas en este momento. Para saber cuándo abre una, active "
    "«📝 Encuestas» en /alertas."
)
STATE_ICON = {"nueva": "🆕", "en_curso": "▶️", "respondida": "✅"}
STATE_NOTE = {"nueva": "", "en_curso": " (continuar)", "respondida": " (ya respondida)"}
INTRO = "📝 <b>{title}</b>\n{description}\n{count} preguntas. {privacy}{closes}"
ANONYMOUS = "Es anónima: sus respuestas no quedan ligadas a su cuenta."
NAMED = (
    "Sus respuestas quedan ligadas a su cuenta de Telegram; puede verlas y borrar ese "
    "vínculo con /mis_datos y /borrar_datos."
)
CLOSES = "\nRecibe respuestas hasta el {when}"  # + a full stop: `_stop`
DONE_ALREADY = "\n\n✅ Ya respondió esta encuesta. ¡Gracias!"
IN_PROGRESS = "\n\n▶️ Ya empezó esta encuesta: puede continuar donde iba."
CLOSED = "Esta encuesta ya no recibe respuestas."
NOT_YET = "Esta encuesta empieza a recibir respuestas el {when}"  # + `_stop`
NOT_FOR_YOU = "Esta encuesta es para otra comuna."
AFTER_EVENT = "Esta encuesta se abre cuando termine «{title}»."
GONE = "Esa encuesta ya no está disponible."
STALE = "Esa pregunta ya quedó respondida."
CONSENT_ACTION = "responder esta encuesta"
QUESTION = "📝 <b>{title}</b> · pregunta {number} de {total}\n\n{text}"
HINT_SINGLE = "Toque una opción."
HINT_SCALE = "Toque un número de 1 a 5."
HINT_SCALE_ENDS = "Toque un número: 1 es «{low}» y 5 es «{high}»."
HINT_MULTI = "Marque hasta {max} y toque «Listo»."
HINT_TEXT = "Escriba su respuesta en un mensaje (máximo {max} caracteres)."
ANSWERED = "{question}\n\n✔️ <i>{answer}</i>"
MULTI_MAX = "Puede marcar hasta {max} opciones. Quite una para marcar otra."
MULTI_EMPTY = "Marque al menos una opción."
TICKS_ELSEWHERE = (
    "Marcó opciones en otro mensaje de esta pregunta. Aquí están todas: revíselas y toque "
    "«Listo» otra vez."
)
PAUSED = (
    "⏸️ Pausé la encuesta. Sus respuestas quedan guardadas: continúe cuando quiera desde "
    "/encuestas."
)
THANKS = "✅ <b>¡Gracias!</b> Su respuesta a «{title}» quedó guardada."
ONLY_AFTER = "Los resultados se ven al terminar la encuesta."
RESULTS_HEAD = "📊 <b>Resultados hasta ahora</b> — {title}\n{completed}."
CHART_CAPTION = "📊 Resultados hasta ahora: {completed}."
TOO_FEW = (
    "📊 <b>{title}</b>\nLos resultados se mostrarán cuando haya al menos {minimum}. "
    "Por ahora hay {completed}."
)
PRIVATE_ONLY = (
    "Las encuestas se responden en un chat privado con el bot, una respuesta por persona."
)
PRIVATE_BUTTON = "📝 Abrir las encuestas en privado"
LIST_BUTTON = "⬅️ Encuestas"
PAUSE_BUTTON = "⏸️ Pausar"
DONE_BUTTON = "Listo ▶️"
TAP_PLEASE = (
    "Está respondiendo una encuesta: toque una de las opciones, o «⏸️ Pausar» para hacer "
    "otra cosa."
)
BUTTON_KINDS = ("unica", "escala", "multiple")
