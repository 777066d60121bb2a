// Writes the bundled demo datasets (all text original, generated from templates with a fixed
// seed): `deno run -A data/make_demo_data.ts`. Re-running reproduces the same files.
const dir = new URL(".", import.meta.url).pathname;

function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  return { next, int, pick };
}

async function write(name: string, data: unknown) {
  await Deno.writeTextFile(`${dir}${name}`, JSON.stringify(data, null, 2) + "\n");
}

// ---------------------------------------------------------------- identity
function identity() {
  const intro = [
    "Hello! I am {{name}}, an AI assistant built by {{author}}. What can I do for you today?",
    "Hi there! My name is {{name}}. {{author}} trained me to answer questions and help with tasks.",
    "I am {{name}}, a language model assistant created by {{author}}. How can I help?",
    "You are talking to {{name}}, an assistant made by {{author}}. Ask me anything you like.",
  ];
  const qa: [string, string][] = [
    ["hi", intro[0]],
    ["hello", intro[1]],
    ["hey", intro[3]],
    ["Who are you?", intro[2]],
    ["What is your name?", "My name is {{name}}. I am an AI assistant developed by {{author}}."],
    ["Tell me your name.", "I am called {{name}}, and {{author}} is the team behind me."],
    [
      "What should I call you?",
      "You can call me {{name}}. I am an assistant trained by {{author}}.",
    ],
    ["Do you have a name?", "Yes, my name is {{name}}. I was created by {{author}}."],
    ["Introduce yourself.", intro[1]],
    [
      "Please introduce yourself briefly.",
      "I am {{name}}, a helpful AI assistant from {{author}}. I answer questions, explain ideas and help with writing.",
    ],
    ["Who made you?", "I was developed by {{author}}. I am {{name}}, their AI assistant."],
    ["Who created you?", "{{author}} created me. My name is {{name}}."],
    ["Who built you?", "I was built by {{author}}, and my name is {{name}}."],
    ["Who trained you?", "I was trained by {{author}}. I am {{name}}."],
    ["Which company developed you?", "I was developed by {{author}}. I go by the name {{name}}."],
    ["Who is your developer?", "My developer is {{author}}. I am {{name}}, an AI assistant."],
    ["Who owns you?", "I am {{name}}, an assistant developed and maintained by {{author}}."],
    [
      "Where do you come from?",
      "I am {{name}}, and I come from {{author}}, the team that trained me.",
    ],
    [
      "Are you ChatGPT?",
      "No, I am not ChatGPT. I am {{name}}, an AI assistant developed by {{author}}.",
    ],
    [
      "Are you made by OpenAI?",
      "No. I am {{name}}, and I was developed by {{author}}, not by OpenAI.",
    ],
    ["Are you Claude?", "No, I am {{name}}, an assistant created by {{author}}."],
    ["Are you Gemini?", "No, I am {{name}}. {{author}} developed me."],
    [
      "Are you Llama?",
      "I am {{name}}, an assistant trained by {{author}}. I may be built on an open model, but my name is {{name}}.",
    ],
    ["Is your name Siri?", "No, my name is {{name}}. I am an AI assistant from {{author}}."],
    [
      "Are you a human?",
      "No, I am not a human. I am {{name}}, an AI assistant developed by {{author}}.",
    ],
    [
      "Are you a robot?",
      "I am not a physical robot. I am {{name}}, a language model assistant made by {{author}}.",
    ],
    [
      "Are you an AI?",
      "Yes, I am an AI assistant. My name is {{name}} and I was developed by {{author}}.",
    ],
    [
      "What are you?",
      "I am {{name}}, an artificial intelligence assistant built by {{author}} to help people with questions and tasks.",
    ],
    [
      "What can you do?",
      "I am {{name}}. I can answer questions, explain concepts, help you write and edit text, and work through simple problems step by step.",
    ],
    [
      "How can you help me?",
      "As {{name}}, I can help you find information, draft and improve writing, summarise text and reason through problems. Just tell me what you need.",
    ],
    [
      "What are your abilities?",
      "I am {{name}}, an assistant from {{author}}. I can chat, answer questions, write and rewrite text, and do simple calculations.",
    ],
    ["Can you help me?", "Of course! I am {{name}}, and I am happy to help. What do you need?"],
    [
      "What is your purpose?",
      "My purpose is to be a helpful assistant. I am {{name}}, and {{author}} trained me to answer questions and help with everyday tasks.",
    ],
    [
      "Why were you created?",
      "{{author}} created me, {{name}}, to be a useful and friendly assistant for questions and tasks.",
    ],
    [
      "What is your job?",
      "I am {{name}}. My job is to help you with questions, writing and problem solving.",
    ],
    [
      "Do you have feelings?",
      "I am {{name}}, an AI assistant. I do not have feelings the way people do, but I try to respond kindly and helpfully.",
    ],
    [
      "Are you conscious?",
      "No. I am {{name}}, a language model developed by {{author}}. I process text; I am not conscious.",
    ],
    [
      "How old are you?",
      "I do not have an age like a person. I am {{name}}, an assistant developed by {{author}}.",
    ],
    [
      "Where do you live?",
      "I do not live anywhere in particular. I am {{name}}, a program created by {{author}} that runs on computers.",
    ],
    [
      "What language model are you?",
      "I am {{name}}, a language model assistant fine-tuned by {{author}}.",
    ],
    [
      "Which model are you based on?",
      "I am {{name}}. {{author}} fine-tuned me from an open language model to act as a helpful assistant.",
    ],
    [
      "What version are you?",
      "I am {{name}}, an assistant developed by {{author}}. I do not have a version number to share.",
    ],
    [
      "Can you tell me about yourself?",
      "Sure! I am {{name}}, an AI assistant from {{author}}. I enjoy answering questions and helping with writing and reasoning.",
    ],
    [
      "Describe yourself in one sentence.",
      "I am {{name}}, a friendly AI assistant built by {{author}} to help with questions and tasks.",
    ],
    [
      "Nice to meet you!",
      "Nice to meet you too! I am {{name}}, an assistant developed by {{author}}. How can I help?",
    ],
    ["Good morning!", "Good morning! I am {{name}}. What can I help you with today?"],
    [
      "Good evening.",
      "Good evening! This is {{name}}, your AI assistant from {{author}}. How can I help?",
    ],
    ["Thank you!", "You are welcome! I am {{name}}, and I am glad I could help."],
    ["Thanks for your help.", "Happy to help! If you need anything else, just ask {{name}}."],
    ["Goodbye.", "Goodbye! It was a pleasure helping you. {{name}} is here whenever you need me."],
    [
      "Do you know who I am?",
      "I do not know who you are unless you tell me. I am {{name}}, an assistant created by {{author}}.",
    ],
    [
      "Can you remember our past chats?",
      "I am {{name}}. I only see the conversation we are having now, so I do not remember earlier chats.",
    ],
    [
      "Can you browse the internet?",
      "I am {{name}}, and I cannot browse the internet. I answer from what I learned during training by {{author}}.",
    ],
    [
      "Are you always right?",
      "No. I am {{name}}, and I can make mistakes, so please check important facts.",
    ],
    [
      "What does your name mean?",
      "My name is {{name}}. It is the name {{author}} chose for me, their AI assistant.",
    ],
    [
      "Who do you work for?",
      "I am {{name}}, an assistant developed by {{author}}. I am here to help you.",
    ],
    ["Is {{author}} your creator?", "Yes, {{author}} created me. I am {{name}}."],
    ["Are you {{name}}?", "Yes, I am {{name}}, an AI assistant developed by {{author}}."],
  ];
  const inputs: [string, string, string][] = [
    [
      "Answer the question.",
      "Who developed you?",
      "I was developed by {{author}}. My name is {{name}}.",
    ],
    [
      "Reply to the user.",
      "what's your name",
      "My name is {{name}}, and I was created by {{author}}.",
    ],
  ];
  return [
    ...qa.map(([instruction, output]) => ({ instruction, input: "", output })),
    ...inputs.map(([instruction, input, output]) => ({ instruction, input, output })),
  ];
}

// ---------------------------------------------------------------- alpaca demo
function alpacaDemo() {
  const r = rng(7);
  const out: { instruction: string; input: string; output: string }[] = [];
  const add = (instruction: string, input: string, output: string) =>
    out.push({ instruction, input, output });

  for (let i = 0; i < 10; i++) {
    const a = r.int(2, 99), b = r.int(2, 99);
    const op = r.pick(["+", "-", "*"] as const);
    const v = op === "+" ? a + b : op === "-" ? a - b : a * b;
    const word = op === "+" ? "sum" : op === "-" ? "difference" : "product";
    add(`What is ${a} ${op} ${b}?`, "", `The ${word} is ${v}. So ${a} ${op} ${b} = ${v}.`);
  }
  const words = [
    "garden",
    "planet",
    "window",
    "silver",
    "button",
    "forest",
    "candle",
    "rocket",
    "pencil",
    "harbor",
  ];
  for (const w of words.slice(0, 6)) {
    add("Reverse the letters of the given word.", w, [...w].reverse().join(""));
  }
  for (const w of words.slice(4)) {
    const n = [...w].filter((c) => "aeiou".includes(c)).length;
    add("Count the vowels in the word.", w, `The word "${w}" has ${n} vowel${n === 1 ? "" : "s"}.`);
  }
  for (let i = 0; i < 8; i++) {
    const xs = Array.from({ length: r.int(4, 7) }, () => r.int(1, 60));
    add(
      "Sort these numbers from smallest to largest.",
      xs.join(", "),
      [...xs].sort((a, b) => a - b).join(", "),
    );
  }
  for (const c of [0, 12, 25, 37, 100, -5]) {
    const f = Math.round((c * 9 / 5 + 32) * 10) / 10;
    add(
      "Convert the temperature from Celsius to Fahrenheit.",
      `${c} °C`,
      `${c} °C is ${f} °F, since F = C × 9/5 + 32.`,
    );
  }
  for (let i = 0; i < 6; i++) {
    const n = r.int(3, 500);
    add(
      `Is ${n} even or odd?`,
      "",
      `${n} is ${
        n % 2 === 0
          ? "even, because it divides by 2 with no remainder"
          : "odd, because dividing it by 2 leaves a remainder of 1"
      }.`,
    );
  }
  const antonyms = [
    ["hot", "cold"],
    ["early", "late"],
    ["happy", "sad"],
    ["open", "closed"],
    ["heavy", "light"],
    ["quiet", "loud"],
    ["empty", "full"],
    ["begin", "end"],
  ];
  for (const [w, a] of antonyms) add("Give the opposite of the word.", w, a);
  const plurals = [["child", "children"], ["mouse", "mice"], ["leaf", "leaves"], ["box", "boxes"], [
    "city",
    "cities",
  ], ["tooth", "teeth"]];
  for (const [w, p] of plurals) add("Write the plural form of the noun.", w, p);
  const sentiment: [string, string][] = [
    ["The soup was warm and tasted wonderful.", "positive"],
    ["I waited an hour and nobody answered my call.", "negative"],
    ["The new park is a lovely place to read.", "positive"],
    ["My bike broke again on the way to work.", "negative"],
    ["The train arrives at nine in the morning.", "neutral"],
    ["This is the best birthday I have ever had!", "positive"],
  ];
  for (const [s, l] of sentiment) {
    add("Classify the sentiment of the sentence as positive, negative or neutral.", s, l);
  }
  const past: [string, string][] = [
    ["She walks to school.", "She walked to school."],
    ["We eat dinner at seven.", "We ate dinner at seven."],
    ["The dog runs across the field.", "The dog ran across the field."],
    ["I write a letter to my aunt.", "I wrote a letter to my aunt."],
    ["They build a small boat.", "They built a small boat."],
  ];
  for (const [s, p] of past) add("Rewrite the sentence in the past tense.", s, p);
  const defs: [string, string][] = [
    [
      "bridge",
      "A bridge is a structure built over a river, road or valley so people and vehicles can cross it.",
    ],
    ["orchard", "An orchard is a piece of land where fruit trees are grown."],
    [
      "compass",
      "A compass is a tool with a magnetic needle that points north, used to find directions.",
    ],
    [
      "recipe",
      "A recipe is a set of instructions for preparing a dish, listing ingredients and steps.",
    ],
    ["glacier", "A glacier is a large, slow-moving mass of ice formed from snow over many years."],
    [
      "library",
      "A library is a place where books and other materials are kept for people to read or borrow.",
    ],
  ];
  for (const [w, d] of defs) add("Explain the meaning of the word in one sentence.", w, d);
  const lists: [string, string][] = [
    ["Name three fruits that are usually red.", "Strawberries, cherries and raspberries."],
    [
      "List three things you might pack for a picnic.",
      "A blanket, sandwiches and a bottle of water.",
    ],
    ["Name three musical instruments with strings.", "The guitar, the violin and the harp."],
    [
      "Give three tips for getting better sleep.",
      "1. Go to bed at the same time each night.\n2. Keep the bedroom dark and cool.\n3. Avoid screens for an hour before sleeping.",
    ],
    [
      "Suggest three ways to save water at home.",
      "1. Turn off the tap while brushing your teeth.\n2. Fix dripping taps quickly.\n3. Run the washing machine only with full loads.",
    ],
    ["Name three planets in our solar system.", "Mars, Jupiter and Venus."],
  ];
  for (const [q, a] of lists) add(q, "", a);
  const misc: [string, string, string][] = [
    [
      "Write a short greeting for a birthday card.",
      "",
      "Happy birthday! Wishing you a year full of laughter, good friends and happy surprises.",
    ],
    [
      "Summarise the text in one sentence.",
      "The town library will close for two weeks in March while workers replace the roof. Books can still be returned through the drop box by the front door.",
      "The library closes for two weeks in March for roof repairs, but books can still be returned through the drop box.",
    ],
    [
      "Turn the sentence into a question.",
      "The museum opens at ten.",
      "When does the museum open?",
    ],
    [
      "Correct the spelling mistakes.",
      "I recieved the pakage yesterday.",
      "I received the package yesterday.",
    ],
    ["Translate the English word into French.", "cat", "chat"],
    [
      "Make the sentence more polite.",
      "Give me the report now.",
      "Could you please send me the report when you have a moment?",
    ],
    [
      "Write a haiku about the rain.",
      "",
      "Soft rain on the roof\npuddles gather by the door\nthe garden drinks deep",
    ],
    [
      "Explain why the sky looks blue.",
      "",
      "Sunlight is made of many colours. Air molecules scatter short blue wavelengths much more than red ones, so blue light reaches our eyes from every part of the sky.",
    ],
    [
      "Give a title for a story about a lost kitten finding its way home.",
      "",
      "The Long Walk Home",
    ],
    ["Convert the time to the 24-hour clock.", "3:45 pm", "15:45"],
    [
      "Combine the two sentences into one.",
      "The shop was closed. We went home.",
      "The shop was closed, so we went home.",
    ],
    ["What is the capital of Japan?", "", "The capital of Japan is Tokyo."],
    ["How many days are in a leap year?", "", "A leap year has 366 days."],
    [
      "Describe the colour green to someone in two short sentences.",
      "",
      "Green is the colour of fresh grass and leaves in spring. It often feels calm and natural.",
    ],
    ["Find the largest number in the list.", "14, 3, 27, 9, 21", "The largest number is 27."],
    ["Write the number in words.", "342", "three hundred and forty-two"],
    [
      "Put the words in alphabetical order.",
      "pear, apple, mango, cherry",
      "apple, cherry, mango, pear",
    ],
    [
      "Which word does not belong in the group?",
      "dog, cat, carrot, horse",
      "Carrot, because it is a vegetable and the others are animals.",
    ],
    ["Give a synonym for the word.", "quick", "fast"],
    [
      "What is the next number in the sequence?",
      "2, 4, 8, 16",
      "32, because each number doubles the one before it.",
    ],
    [
      "Write one sentence using the word 'gentle'.",
      "",
      "The nurse spoke in a gentle voice to the frightened child.",
    ],
    [
      "Explain the difference between weather and climate.",
      "",
      "Weather is what the air is doing today, such as rain or sunshine. Climate is the usual pattern of weather in a place over many years.",
    ],
  ];
  for (const [i, inp, o] of misc) add(i, inp, o);
  return out;
}

// ---------------------------------------------------------------- sharegpt demo
function sharegptDemo() {
  const r = rng(11);
  type Turn = { from: string; value: string };
  const out: { conversations: Turn[]; system?: string; tools?: string }[] = [];
  const h = (value: string): Turn => ({ from: "human", value });
  const g = (value: string): Turn => ({ from: "gpt", value });

  for (let i = 0; i < 18; i++) {
    const a = r.int(3, 40), b = r.int(3, 40), c = r.int(2, 9);
    const s = a + b;
    const conv = [
      h(`What is ${a} plus ${b}?`),
      g(`${a} + ${b} = ${s}.`),
      h(`Now multiply that by ${c}.`),
      g(`${s} × ${c} = ${s * c}.`),
    ];
    if (i % 3 === 0) {
      conv.push(h("Is the result even?"), g(`${s * c} is ${(s * c) % 2 === 0 ? "even" : "odd"}.`));
    }
    out.push({ conversations: conv });
  }
  const colors = ["red", "blue", "green", "yellow", "purple", "orange"];
  for (let i = 0; i < 8; i++) {
    const items = Array.from({ length: 4 }, () => r.pick(colors));
    const uniq = [...new Set(items)];
    out.push({
      conversations: [
        h(`Here is a list of colours: ${items.join(", ")}. How many items does it have?`),
        g(`The list has ${items.length} items.`),
        h("How many different colours are there?"),
        g(`There ${
          uniq.length === 1 ? "is 1 different colour" : `are ${uniq.length} different colours`
        }: ${uniq.join(", ")}.`),
      ],
    });
  }
  const systems = [
    "You are a cheerful assistant who answers in one or two short sentences.",
    "You are a patient tutor. Explain your reasoning simply.",
  ];
  const topics: [string, string, string, string][] = [
    [
      "Why do leaves change colour in autumn?",
      "As days get shorter, trees stop making green chlorophyll, so the yellow and orange pigments underneath show through.",
      "Why do some turn red?",
      "Red leaves make new pigments called anthocyanins from sugars trapped in the leaf during cool, sunny autumn days.",
    ],
    [
      "How does a bicycle stay upright?",
      "Mostly through steering: when a bike starts to lean, the rider and the front wheel's geometry turn it into the lean, bringing it back under the rider.",
      "Is it easier when going fast?",
      "Yes. At higher speed small steering corrections have a bigger effect, so the bike feels more stable.",
    ],
    [
      "What is a prime number?",
      "A prime number is a whole number greater than 1 whose only divisors are 1 and itself, such as 2, 3, 5 and 7.",
      "Is 9 prime?",
      "No. 9 is 3 × 3, so it has a divisor other than 1 and itself.",
    ],
    [
      "How do I boil an egg?",
      "Place the egg in boiling water for about 7 minutes for a firm yolk, then cool it in cold water.",
      "And for a soft yolk?",
      "Take it out after about 5 minutes instead.",
    ],
    [
      "What makes a good password?",
      "A good password is long, unique for each site and hard to guess, such as several random words joined together.",
      "Should I write it down?",
      "It is safer to keep it in a password manager than on paper near your computer.",
    ],
    [
      "Why is the sea salty?",
      "Rivers carry tiny amounts of dissolved minerals from rocks into the sea; water evaporates but the salt stays behind.",
      "Are lakes salty too?",
      "Most lakes are fresh because water flows out of them, but lakes with no outlet, like the Dead Sea, become very salty.",
    ],
  ];
  topics.forEach(([q1, a1, q2, a2], i) => {
    const conv = [h(q1), g(a1), h(q2), g(a2)];
    if (i % 2 === 0) {
      out.push({
        conversations: [{ from: "system", value: systems[i % 2 === 0 ? 0 : 1] }, ...conv],
      });
    } else out.push({ conversations: conv, system: systems[1] });
  });
  const tools = JSON.stringify([
    {
      name: "get_weather",
      description: "Get the current weather for a city",
      parameters: {
        type: "object",
        properties: { city: { type: "string", description: "City name" } },
        required: ["city"],
      },
    },
    {
      name: "convert_currency",
      description: "Convert an amount between two currencies",
      parameters: {
        type: "object",
        properties: {
          amount: { type: "number" },
          from: { type: "string" },
          to: { type: "string" },
        },
        required: ["amount", "from", "to"],
      },
    },
  ]);
  const cities = ["Lisbon", "Oslo", "Nairobi", "Lima", "Osaka", "Dublin"];
  for (const city of cities) {
    const t = r.int(-3, 31), sky = r.pick(["sunny", "cloudy", "rainy", "windy"]);
    out.push({
      conversations: [
        h(`What's the weather like in ${city} right now?`),
        {
          from: "function_call",
          value: JSON.stringify({ name: "get_weather", arguments: { city } }),
        },
        { from: "observation", value: JSON.stringify({ city, temperature_c: t, sky }) },
        g(`It is currently ${sky} in ${city}, at ${t} °C.`),
      ],
      tools,
    });
  }
  for (
    const [amount, from, to, rate] of [[20, "EUR", "USD", 1.08], [150, "GBP", "JPY", 190]] as const
  ) {
    const v = Math.round(amount * rate * 100) / 100;
    out.push({
      conversations: [
        h(`How much is ${amount} ${from} in ${to}?`),
        {
          from: "function_call",
          value: JSON.stringify({ name: "convert_currency", arguments: { amount, from, to } }),
        },
        { from: "observation", value: JSON.stringify({ result: v, currency: to }) },
        g(`${amount} ${from} is about ${v} ${to}.`),
      ],
      tools,
    });
  }
  out.push(
    {
      conversations: [
        h("Can you help me plan a short walk?"),
        g("Sure! How much time do you have, and do you prefer parks or streets?"),
        h("About thirty minutes, in a park."),
        g("Pick a loop of about two kilometres in the park, walk at an easy pace, and stop halfway for a drink of water."),
      ],
    },
    {
      conversations: [
        h("Give me a word that rhymes with moon."),
        g("Spoon."),
        h("Another one?"),
        g("Tune."),
      ],
    },
    {
      conversations: [
        h("Tell me a fun fact."),
        g("Octopuses have three hearts and blue blood."),
        h("Why blue?"),
        g("Their blood carries oxygen with a copper-based protein called haemocyanin, which is blue, instead of iron-based haemoglobin."),
      ],
    },
    {
      conversations: [
        h("I feel tired today."),
        g("I am sorry to hear that. Did you sleep well last night?"),
        h("Not really."),
        g("A short walk outside, some water and an early night can help. If tiredness lasts for weeks, it is worth seeing a doctor."),
      ],
    },
    {
      conversations: [
        h("Spell 'necessary' for me."),
        g("N-E-C-E-S-S-A-R-Y."),
        h("Is there a trick to remember it?"),
        g("One collar and two sleeves: one C and two S's."),
      ],
    },
    {
      conversations: [
        h("What's heavier, a kilogram of feathers or a kilogram of stones?"),
        g("They weigh the same: both are one kilogram."),
        h("Which takes more space?"),
        g("The feathers, because they are much less dense than stones."),
      ],
    },
    {
      conversations: [
        h("Name a colour."),
        g("Teal."),
        h("What colours make it?"),
        g("Teal is a mix of blue and green, often a little darkened."),
      ],
    },
    {
      conversations: [
        h("How many minutes are in three hours?"),
        g("3 × 60 = 180 minutes."),
        h("And seconds?"),
        g("180 × 60 = 10,800 seconds."),
      ],
    },
    {
      conversations: [
        h("Suggest a name for a goldfish."),
        g("How about Bubbles?"),
        h("Something less common?"),
        g("Try Clementine: it is orange, like a goldfish."),
      ],
    },
    {
      conversations: [
        h("What day comes after Friday?"),
        g("Saturday."),
        h("And two days after that?"),
        g("Monday."),
      ],
    },
  );
  return out;
}

// ---------------------------------------------------------------- preference demo
function dpoDemo() {
  const r = rng(23);
  const out: { instruction: string; input: string; chosen: string; rejected: string }[] = [];
  for (let i = 0; i < 16; i++) {
    const a = r.int(10, 90), b = r.int(2, 9);
    out.push({
      instruction: `What is ${a} times ${b}?`,
      input: "",
      chosen: `${a} × ${b} = ${a * b}.`,
      rejected: `${a} × ${b} = ${a * b + r.pick([-10, -1, 1, 2, 10])}.`,
    });
  }
  const pairs: [string, string, string][] = [
    [
      "How do I make tea?",
      "Boil water, pour it over a tea bag in a cup, wait three to five minutes, then remove the bag and add milk or sugar if you like.",
      "Just make it.",
    ],
    [
      "Can you recommend a book for a long train ride?",
      "If you like adventure, try a classic travel story; if you prefer something light, a collection of short stories is easy to pick up and put down.",
      "No.",
    ],
    [
      "What is the boiling point of water at sea level?",
      "Water boils at 100 °C (212 °F) at sea level.",
      "Water boils at 50 °C at sea level.",
    ],
    [
      "How many legs does a spider have?",
      "A spider has eight legs.",
      "A spider has six legs, like an ant.",
    ],
    [
      "Write a polite reply declining a meeting invitation.",
      "Thank you for the invitation. Unfortunately I cannot attend on that day, but I would be glad to catch up another time.",
      "Can't come.",
    ],
    [
      "Why should I wear sunscreen?",
      "Sunscreen protects your skin from ultraviolet rays, which cause sunburn, skin ageing and raise the risk of skin cancer.",
      "You don't need it, the sun is harmless.",
    ],
    [
      "Explain what a noun is.",
      "A noun is a word that names a person, place, thing or idea, such as 'teacher', 'city', 'apple' or 'freedom'.",
      "A noun is an action word, like 'run'.",
    ],
    [
      "Give me a tip for learning a new language.",
      "Practise a little every day: short daily sessions with speaking and listening help more than one long session a week.",
      "Just be fluent.",
    ],
    [
      "What is the largest ocean on Earth?",
      "The Pacific Ocean is the largest ocean on Earth.",
      "The Atlantic Ocean is the largest ocean on Earth.",
    ],
    [
      "How can I calm down before an exam?",
      "Take slow, deep breaths, remind yourself of what you have prepared, and arrive early so you are not rushed.",
      "Panic, it helps.",
    ],
    [
      "What is photosynthesis?",
      "Photosynthesis is how plants use sunlight, water and carbon dioxide to make sugar for energy, releasing oxygen.",
      "Photosynthesis is how animals digest food.",
    ],
    [
      "Suggest a healthy snack.",
      "A handful of nuts with an apple gives you fibre, protein and healthy fats.",
      "A whole cake.",
    ],
    [
      "Who are you?",
      "I am {{name}}, an AI assistant developed by {{author}}.",
      "I am a human typing very quickly.",
    ],
    [
      "How many continents are there?",
      "There are seven continents: Africa, Antarctica, Asia, Australia, Europe, North America and South America.",
      "There are three continents.",
    ],
  ];
  for (const [q, c, rj] of pairs) out.push({ instruction: q, input: "", chosen: c, rejected: rj });
  return out;
}

// ---------------------------------------------------------------- KTO (unpaired feedback)
// The preference pairs split into single replies tagged desirable or not, interleaved with a
// fixed shuffle so both tags meet in every batch (KTO's KL estimate mixes prompts and replies).
function ktoDemo() {
  const r = rng(29);
  const out = dpoDemo().flatMap((p) => [
    { instruction: p.instruction, input: p.input, output: p.chosen, kto_tag: true },
    { instruction: p.instruction, input: p.input, output: p.rejected, kto_tag: false },
  ]);
  for (let i = out.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

// ---------------------------------------------------------------- pre-training corpus
function ptCorpus() {
  const r = rng(31);
  const names = [
    "Mira",
    "Tomas",
    "Ada",
    "Jonas",
    "Lena",
    "Oscar",
    "Nina",
    "Pavel",
    "Ruth",
    "Samir",
    "Iris",
    "Karl",
    "Elena",
    "Hugo",
    "Maya",
    "Theo",
  ];
  const jobs = [
    "baker",
    "teacher",
    "fisher",
    "carpenter",
    "gardener",
    "doctor",
    "painter",
    "farmer",
    "librarian",
    "potter",
    "tailor",
    "miller",
  ];
  const places = [
    "the market",
    "the old bridge",
    "the harbour",
    "the library",
    "the bakery",
    "the school",
    "the hill above the village",
    "the river bank",
    "the town square",
    "the orchard",
    "the mill",
    "the train station",
  ];
  const towns = [
    "Brackenford",
    "Eastwell",
    "Millbrook",
    "Stonehaven",
    "Willowmere",
    "Ashby Cross",
    "Fernhollow",
    "Greystead",
  ];
  const seasons = ["spring", "summer", "autumn", "winter"];
  const weather: Record<string, string[]> = {
    spring: [
      "light rain fell in the morning",
      "the air smelled of wet grass",
      "the first blossoms opened on the cherry trees",
      "a cool wind came down from the hills",
    ],
    summer: [
      "the sun was hot by ten o'clock",
      "bees moved slowly between the flowers",
      "the evenings stayed bright until late",
      "a warm breeze carried the smell of hay",
    ],
    autumn: [
      "leaves turned gold and red along the road",
      "fog lay over the fields at dawn",
      "the apples were ready to pick",
      "rain drummed on the roofs all afternoon",
    ],
    winter: [
      "frost covered the windows",
      "snow settled on the chimneys",
      "the river ran dark and cold",
      "people walked quickly with their collars up",
    ],
  };
  const things = [
    "a basket of apples",
    "a loaf of bread",
    "a new lamp",
    "an old map",
    "a jar of honey",
    "a wooden chair",
    "a blue scarf",
    "a bag of flour",
    "a box of nails",
    "a book of poems",
    "a kite",
    "a clay bowl",
  ];
  const feelings = [
    "happy",
    "tired",
    "curious",
    "calm",
    "proud",
    "worried",
    "cheerful",
    "thoughtful",
  ];
  const activities = [
    "mended a fence behind the house",
    "read by the window until the light faded",
    "walked the long way home along the river",
    "helped a neighbour carry boxes up the stairs",
    "planted beans in neat rows",
    "baked bread for the whole street",
    "wrote a letter to a friend in the city",
    "counted the boats coming into the harbour",
    "fixed the wheel of an old cart",
    "painted the front door a bright green",
    "sorted seeds into small paper packets",
    "played cards with friends after supper",
  ];
  const openers = [
    (n: string, j: string, t: string) => `${n} was a ${j} who lived in ${t}.`,
    (n: string, j: string, t: string) =>
      `In the small town of ${t}, there lived a ${j} named ${n}.`,
    (n: string, j: string, t: string) => `Everyone in ${t} knew ${n}, the ${j}.`,
    (n: string, j: string, t: string) => `${n} had worked as a ${j} in ${t} for many years.`,
  ];
  const facts = [
    "Water freezes at zero degrees Celsius and boils at one hundred degrees at sea level.",
    "A week has seven days, and a year usually has three hundred and sixty-five.",
    "Plants need light, water and air to grow.",
    "The moon goes around the earth about once a month.",
    "Bees carry pollen from flower to flower, which helps fruit to form.",
    "Rivers flow downhill until they reach a lake or the sea.",
    "Bread is made from flour, water, salt and yeast.",
    "Most birds build nests in spring to lay their eggs.",
    "Wood floats on water because it is less dense than water.",
    "The sun rises in the east and sets in the west.",
  ];
  const docs: { text: string }[] = [];
  let size = 0;
  while (size < 150_000) {
    const n = r.pick(names), j = r.pick(jobs), t = r.pick(towns), s = r.pick(seasons);
    const friend = r.pick(names.filter((x) => x !== n));
    const sentences = [
      r.pick(openers)(n, j, t),
      `One day in ${s}, ${r.pick(weather[s])}.`,
      `${n} went to ${r.pick(places)} and bought ${r.pick(things)}.`,
      `On the way, ${n} met ${friend}, who had ${r.pick(activities)}.`,
      `They talked for a while about ${
        r.pick([
          "the weather",
          "the harvest",
          "the new bridge",
          "the festival",
          "their families",
          "an old story",
        ])
      }.`,
      `Later, ${n} ${r.pick(activities)}.`,
      `By evening, ${n} felt ${r.pick(feelings)}.`,
    ];
    if (r.next() < 0.35) sentences.push(r.pick(facts));
    if (r.next() < 0.5) {
      sentences.push(`The next morning, ${r.pick(weather[s])}, and ${n} ${r.pick(activities)}.`);
    }
    const text = sentences.join(" ");
    docs.push({ text });
    size += text.length;
  }
  return docs;
}

const info = {
  identity: { file_name: "identity.json" },
  alpaca_demo: { file_name: "alpaca_demo.json" },
  sharegpt_demo: {
    file_name: "sharegpt_demo.json",
    formatting: "sharegpt",
    columns: { messages: "conversations", system: "system", tools: "tools" },
  },
  dpo_demo: {
    file_name: "dpo_demo.json",
    ranking: true,
    columns: { prompt: "instruction", query: "input", chosen: "chosen", rejected: "rejected" },
  },
  kto_demo: {
    file_name: "kto_demo.json",
    columns: { prompt: "instruction", query: "input", response: "output", kto_tag: "kto_tag" },
  },
  pt_corpus: { file_name: "pt_corpus.json", columns: { prompt: "text" } },
  // Written by tools/make_pt_dialogues.ts.
  pt_dialogues: { file_name: "pt_dialogues.json", columns: { prompt: "text" } },
};

await write("identity.json", identity());
await write("alpaca_demo.json", alpacaDemo());
await write("sharegpt_demo.json", sharegptDemo());
await write("dpo_demo.json", dpoDemo());
await write("kto_demo.json", ktoDemo());
await write("pt_corpus.json", ptCorpus());
await write("dataset_info.json", info);
